/**
 * The error catalogue. Every error the service raises on purpose is a
 * SiemError with a stable code from this table, the HTTP status it maps to
 * (where one applies) and, when it wraps another error, that error as `cause`.
 */
export const ErrorCodes = {
  SIEM_ERR_CONFIG_INVALID: 500,
  SIEM_ERR_CONFIG_FILE: 500,
  SIEM_ERR_AUTH_MISSING_KEY: 401,
  SIEM_ERR_AUTH_INVALID_KEY: 401,
  SIEM_ERR_AUTH_FORBIDDEN: 403,
  SIEM_ERR_INGEST_MALFORMED_BODY: 400,
  SIEM_ERR_INGEST_UNSUPPORTED_ENCODING: 415,
  SIEM_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE: 415,
  SIEM_ERR_INGEST_PAYLOAD_TOO_LARGE: 413,
  SIEM_ERR_INGEST_BATCH_TOO_LARGE: 413,
  SIEM_ERR_INGEST_NO_VALID_EVENTS: 400,
  SIEM_ERR_INGEST_INVALID_ACK_MODE: 400,
  SIEM_ERR_INGEST_WORKER_FAILED: 503,
  SIEM_ERR_QUEUE_FULL: 429,
  SIEM_ERR_QUEUE_TIMEOUT: 503,
  SIEM_ERR_QUEUE_CLOSED: 503,
  SIEM_ERR_SPOOL_FULL: 503,
  SIEM_ERR_SPOOL_WRITE: 503,
  SIEM_ERR_STORAGE_UNAVAILABLE: 503,
  SIEM_ERR_STORAGE_LOCKED: 500,
  SIEM_ERR_STORAGE_QUERY: 500,
  SIEM_ERR_MIGRATION_CHECKSUM: 500,
  SIEM_ERR_MIGRATION_FAILED: 500,
  SIEM_ERR_QUERY_INVALID: 400,
  SIEM_ERR_QUERY_TIMEOUT: 504,
  SIEM_ERR_QUERY_TOO_MANY_ROWS: 422,
  SIEM_ERR_QUERY_RATE_LIMITED: 429,
  SIEM_ERR_NOT_FOUND: 404,
  SIEM_ERR_HTTP_BAD_REQUEST: 400,
  SIEM_ERR_INTERNAL: 500,
  SIEM_ERR_NOT_READY: 503,
  SIEM_ERR_CLI_USAGE: 2,
  SIEM_ERR_CLI_SEND_FAILED: 1,
} as const

export type ErrorCode = keyof typeof ErrorCodes

export interface SiemErrorOptions {
  /** The value that failed, shown to the caller and logged. */
  value?: unknown
  cause?: unknown
  /** Seconds a client should wait before retrying (sent as Retry-After). */
  retryAfterSeconds?: number
  details?: Record<string, unknown>
}

export class SiemError extends Error {
  readonly code: ErrorCode
  readonly value: unknown
  readonly retryAfterSeconds: number | undefined
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, options: SiemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SiemError'
    this.code = code
    this.value = options.value
    this.retryAfterSeconds = options.retryAfterSeconds
    this.details = options.details
  }

  /** HTTP status for this error; codes with no HTTP meaning map to 500. */
  get statusCode(): number {
    const status = ErrorCodes[this.code]
    return status >= 400 ? status : 500
  }
}

export function isSiemError(err: unknown, code?: ErrorCode): err is SiemError {
  return err instanceof SiemError && (code === undefined || err.code === code)
}
