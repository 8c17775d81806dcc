/**
 * A ClickHouse exception as the HTTP interface reports it: numeric code,
 * error name and message, turned into the server's response status and the
 * `Code: N. DB::Exception: ... (NAME) (version V)` body that
 * @clickhouse/client parses into a ClickHouseError.
 */
export class ServerException extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message)
    this.name = 'ServerException'
  }

  /** HTTP status a ClickHouse server sends for this exception. */
  get httpStatus(): number {
    return httpStatusFor(this.type)
  }

  /** Response body in the server's format, with a trailing newline. */
  body(version: string): string {
    return `Code: ${this.code}. DB::Exception: ${this.message}. (${this.type}) (version ${version})\n`
  }
}

/**
 * Matches chdb's error text, `Code: N. DB::Exception: <message>. (NAME)`.
 * The raw insert path wraps a whole formatted exception once more, so the
 * inner message may itself carry a `(version ...)` suffix.
 */
const ENGINE_ERROR = /^Code: (\d+)\. DB::Exception: ([\s\S]*?)\.? \(([A-Z0-9_]+)\)\s*$/
const WRAPPED_ERROR = /^Code: \d+\. DB::Exception: ([\s\S]*?)\.? \([A-Z0-9_]+\) \(version [^)]*\)$/

/** Converts an error thrown by chdb into the exception the server would report. */
export function fromEngineError(err: unknown): ServerException {
  if (err instanceof ServerException) return err
  const text = err instanceof Error ? err.message : String(err)
  const match = ENGINE_ERROR.exec(text.trim())
  if (match === null) {
    return new ServerException(1001, 'STD_EXCEPTION', text)
  }
  const [, code, message, type] = match as unknown as [string, string, string, string]
  const inner = WRAPPED_ERROR.exec(message)
  return new ServerException(Number(code), type, inner?.[1] ?? message)
}

// Status per error name, as ClickHouse's HTTP handler maps exception codes
// (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp); any other error is a 500.
const STATUS_BY_TYPE = new Map<string, number>([
  ['REQUIRED_PASSWORD', 401],
  ...[
    'UNKNOWN_USER',
    'WRONG_PASSWORD',
    'AUTHENTICATION_FAILED',
    'SET_NON_GRANTED_ROLE',
    'ACCESS_DENIED',
  ].map((type): [string, number] => [type, 403]),
  ...[
    'BAD_ARGUMENTS',
    'CANNOT_COMPILE_REGEXP',
    'CANNOT_PARSE_TEXT',
    'CANNOT_PARSE_ESCAPE_SEQUENCE',
    'CANNOT_PARSE_QUOTED_STRING',
    'CANNOT_PARSE_DATE',
    'CANNOT_PARSE_DATETIME',
    'CANNOT_PARSE_NUMBER',
    'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
    'CANNOT_PARSE_IPV4',
    'CANNOT_PARSE_IPV6',
    'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
    'CANNOT_PARSE_UUID',
    'DUPLICATE_COLUMN',
    'ILLEGAL_COLUMN',
    'UNKNOWN_ELEMENT_IN_AST',
    'UNKNOWN_TYPE_OF_AST_NODE',
    'THERE_IS_NO_COLUMN',
    'TOO_DEEP_AST',
    'TOO_BIG_AST',
    'UNEXPECTED_AST_STRUCTURE',
    'SYNTAX_ERROR',
    'INCORRECT_DATA',
    'TYPE_MISMATCH',
    'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  ].map((type): [string, number] => [type, 400]),
  ...[
    'UNKNOWN_TABLE',
    'UNKNOWN_FUNCTION',
    'UNKNOWN_IDENTIFIER',
    'UNKNOWN_TYPE',
    'UNKNOWN_STORAGE',
    'UNKNOWN_DATABASE',
    'UNKNOWN_SETTING',
    'UNKNOWN_DIRECTION_OF_SORTING',
    'UNKNOWN_AGGREGATE_FUNCTION',
    'UNKNOWN_FORMAT',
    'UNKNOWN_DATABASE_ENGINE',
    'UNKNOWN_TYPE_OF_QUERY',
    'UNKNOWN_ROLE',
  ].map((type): [string, number] => [type, 404]),
  ['QUERY_IS_TOO_LARGE', 413],
  ['NOT_IMPLEMENTED', 501],
  ['SOCKET_TIMEOUT', 503],
  ['CANNOT_OPEN_FILE', 503],
  ['HTTP_LENGTH_REQUIRED', 411],
  ['TIMEOUT_EXCEEDED', 408],
  ['CANNOT_SCHEDULE_TASK', 503],
  ['UNSUPPORTED_MEDIA_TYPE', 415],
])

function httpStatusFor(type: string): number {
  return STATUS_BY_TYPE.get(type) ?? 500
}
