import { ClickHouseError } from '@clickhouse/client'

/**
 * ClickHouse error codes that mean the rows themselves cannot be stored, so
 * sending them again would fail again. The writer splits such a batch to
 * find the bad rows. Every other error, known or not, is treated as
 * retriable: retrying a batch that cannot succeed costs time, while giving
 * up on one that could loses acknowledged events.
 */
export const ROW_DATA_ERROR_CODES = new Set<number>([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  376, // CANNOT_PARSE_UUID
  467, // CANNOT_PARSE_BOOL
  469, // VIOLATED_CONSTRAINT: a row fails a CHECK constraint of the table
  691, // UNKNOWN_ELEMENT_OF_ENUM
])

/** Codes of errors that pass once the server recovers; listed for the log and metric label. */
const KNOWN_TRANSIENT_CODES = new Map<number, string>([
  [159, 'timeout_exceeded'],
  [164, 'readonly'],
  [202, 'too_many_simultaneous_queries'],
  [209, 'socket_timeout'],
  [210, 'network_error'],
  [241, 'memory_limit_exceeded'],
  [242, 'table_is_read_only'],
  [252, 'too_many_parts'],
  [279, 'all_connection_tries_failed'],
  [999, 'keeper_exception'],
])

export type ErrorClass = { kind: 'row_data'; code: number; message: string } | { kind: 'retriable'; reason: string; message: string }

export function classifyInsertError(err: unknown): ErrorClass {
  const message = err instanceof Error ? err.message : String(err)
  if (err instanceof ClickHouseError || isClickHouseErrorLike(err)) {
    const code = Number((err as { code: string }).code)
    if (ROW_DATA_ERROR_CODES.has(code)) return { kind: 'row_data', code, message }
    return { kind: 'retriable', reason: KNOWN_TRANSIENT_CODES.get(code) ?? `clickhouse_${code}`, message }
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code
  if (typeof errno === 'string') return { kind: 'retriable', reason: errno.toLowerCase(), message }
  if (/timeout/i.test(message)) return { kind: 'retriable', reason: 'timeout', message }
  return { kind: 'retriable', reason: 'other', message }
}

/**
 * True for a ClickHouseError of any copy of @clickhouse/client-common. chdb's
 * connection throws the class of its own copy, which `instanceof` against
 * the client's class misses and whose `name` is plain `Error`.
 */
function isClickHouseErrorLike(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const named = err.name === 'ClickHouseError' || err.constructor.name === 'ClickHouseError'
  return named && /^\d+$/.test(String((err as { code?: unknown }).code))
}

export interface BackoffOptions {
  initialMs: number
  maxMs: number
}

/** Capped exponential backoff with full jitter: a random delay up to min(max, initial × 2^attempt). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30))
  return Math.max(1, Math.round(ceiling * random()))
}
