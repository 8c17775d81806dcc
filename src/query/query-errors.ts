import { SiemError } from '../errors.js'

/** Maps a ClickHouse error from a user query to a catalogue error with a useful status. */
export function classifyQueryError(err: unknown, limits: { timeoutMs: number; maxRows: number }): SiemError {
  if (err instanceof SiemError) return err
  const code = Number((err as { code?: unknown }).code)
  const message = err instanceof Error ? err.message : String(err)
  switch (code) {
    case 159:
      return new SiemError('SIEM_ERR_QUERY_TIMEOUT', `the query ran longer than ${limits.timeoutMs} ms`, { value: limits.timeoutMs, cause: err })
    case 396:
      return new SiemError('SIEM_ERR_QUERY_TOO_MANY_ROWS', `the query returns more than ${limits.maxRows} rows; add a LIMIT`, {
        value: limits.maxRows,
        cause: err,
      })
    case 164:
      return new SiemError('SIEM_ERR_QUERY_INVALID', `the query is not read-only: ${message}`, { cause: err })
    default:
      break
  }
  // Syntax, unknown table or column, bad types: the query itself is wrong.
  if (Number.isInteger(code) && code > 0 && code !== 210 && code !== 209) {
    return new SiemError('SIEM_ERR_QUERY_INVALID', `ClickHouse rejected the query: ${message}`, { value: code, cause: err })
  }
  return new SiemError('SIEM_ERR_STORAGE_UNAVAILABLE', `ClickHouse did not answer the query: ${message}`, { cause: err, retryAfterSeconds: 1 })
}
