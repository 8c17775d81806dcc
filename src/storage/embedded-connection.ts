import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { parseError } from '@clickhouse/client'
import type {
  ConnBaseQueryParams,
  ConnCommandResult,
  ConnExecParams,
  ConnExecResult,
  ConnInsertParams,
  ConnInsertResult,
  ConnPingParams,
  ConnPingResult,
  ConnQueryResult,
  ChdbConnection,
  Connection,
} from 'chdb/connection'

type Settings = NonNullable<ConnBaseQueryParams['clickhouse_settings']>

/**
 * Wraps chdb's connection so that per-request ClickHouse settings act as they
 * do on a server: for this request only.
 *
 * chdb 3.4's connection turns `clickhouse_settings` into `SET k = v;` before
 * the statement, which changes the whole embedded session: a
 * `readonly = 1` or an `insert_deduplication_token` would stay in force for
 * every later request. This wrapper moves the settings into a query-level
 * `SETTINGS` clause instead, which ClickHouse scopes to the one statement.
 *
 * It also gives the batch writer's inserts chdb's zero-copy path. chdb's
 * `exec` turns a byte body into a string and runs it inline after the
 * statement, and handing the engine one string of 12 MB held the event
 * loop for 20 to 25 ms. A plain `INSERT INTO t FORMAT JSONEachRow` with a byte
 * body goes to chdb's raw insert instead, which reads the bytes where they
 * are, with the same settings scoped to the statement.
 */
export class EmbeddedConnection implements Connection<Readable> {
  readonly #inner: ChdbConnection

  constructor(inner: ChdbConnection) {
    this.#inner = inner
  }

  query(params: ConnBaseQueryParams): Promise<ConnQueryResult<Readable>> {
    return this.#inner.query(withScopedSettings(params))
  }

  exec(params: ConnExecParams<Readable>): Promise<ConnExecResult<Readable>> {
    const insert = RAW_INSERT.exec(params.query)
    if (insert !== null && params.values !== undefined) {
      return this.#rawInsert(insert[1] as string, params.values, params)
    }
    return this.#inner.exec(withScopedSettings(params))
  }

  async #rawInsert(table: string, values: Readable, params: ConnExecParams<Readable>): Promise<ConnExecResult<Readable>> {
    const body = await bodyBytes(values)
    const query_id = params.query_id ?? randomUUID()
    let summary = { rowsWritten: 0, bytesWritten: 0, elapsed: 0 }
    // The engine rejects an INSERT without rows, where a server stores nothing and succeeds.
    if (body.some((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09)) {
      const settings = rawInsertSettings(params.clickhouse_settings)
      try {
        summary = await this.#inner.chdb.rawInsert({
          table,
          format: 'JSONEachRow',
          values: body,
          ...(settings === undefined ? {} : { settings }),
          ...(params.abort_signal === undefined ? {} : { signal: params.abort_signal }),
        })
      } catch (err) {
        throw asClickHouseError(err)
      }
    }
    const written = String(summary.rowsWritten)
    const bytes = String(summary.bytesWritten)
    return {
      stream: Readable.from([]),
      query_id,
      response_headers: {},
      http_status_code: 200,
      summary: {
        read_rows: written,
        read_bytes: bytes,
        written_rows: written,
        written_bytes: bytes,
        result_rows: '0',
        result_bytes: '0',
        total_rows_to_read: '0',
        elapsed_ns: String(Math.round(summary.elapsed * 1e9)),
      },
    }
  }

  command(params: ConnBaseQueryParams): Promise<ConnCommandResult> {
    return this.#inner.command(withScopedSettings(params))
  }

  insert(params: ConnInsertParams<Readable>): Promise<ConnInsertResult> {
    return this.#inner.insert(withScopedSettings(params))
  }

  ping(params: ConnPingParams): Promise<ConnPingResult> {
    return this.#inner.ping(params)
  }

  close(): Promise<void> {
    return this.#inner.close()
  }
}

/** The statement the batch writer sends with its rows: the only one that takes chdb's raw insert. */
const RAW_INSERT = /^INSERT INTO ([A-Za-z_][A-Za-z0-9_]*) FORMAT JSONEachRow$/

async function bodyBytes(values: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of values) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array))
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
}

/** Returns the settings of a raw insert in the value types chdb accepts, without output settings, which do not apply to an INSERT. */
function rawInsertSettings(settings: Settings | undefined): Record<string, string | number | boolean> | undefined {
  if (settings === undefined) return undefined
  const scoped: Record<string, string | number | boolean> = {}
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined || OUTPUT_ONLY.test(name)) continue
    scoped[name] = typeof value === 'number' || typeof value === 'boolean' ? value : String(value)
  }
  return Object.keys(scoped).length === 0 ? undefined : scoped
}

/**
 * Parses a chdb insert error, whose message has the engine's `Code: N.
 * DB::Exception: …` text, into the ClickHouseError with code and type that
 * a server's response gives, because the writer's retry policy reads those.
 */
function asClickHouseError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err)
  const parsed = parseError(message)
  if (parsed !== err) parsed.cause = err
  return parsed
}

/** Output settings change only how results are printed, so statements with no result can drop them. */
const OUTPUT_ONLY = /^output_format_|^date_time_output_format$/

/**
 * Statements whose trailing SETTINGS clause would be read as table settings
 * or, after `INSERT … VALUES`, as row data, or is not accepted.
 */
const DDL = /^\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE|ATTACH|DETACH|SYSTEM|OPTIMIZE|EXCHANGE|GRANT|REVOKE|USE|SET|INSERT)\b/i

function renderSetting(name: string, value: unknown): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse setting name ${JSON.stringify(name)}`)
  if (typeof value === 'number' || typeof value === 'bigint') return `${name} = ${value}`
  if (typeof value === 'boolean') return `${name} = ${value ? 1 : 0}`
  return `${name} = '${String(value).replaceAll('\\', '\\\\').replaceAll("'", "''")}'`
}

function renderSettings(settings: Settings, skip?: RegExp): string {
  const parts: string[] = []
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined || skip?.test(name)) continue
    parts.push(renderSetting(name, value))
  }
  return parts.join(', ')
}

function withScopedSettings<T extends ConnBaseQueryParams>(params: T): T {
  const settings = params.clickhouse_settings
  if (settings === undefined || Object.keys(settings).length === 0) return params
  return { ...params, query: scopeSettings(params.query, settings), clickhouse_settings: undefined }
}

/** `INSERT INTO t [(columns)] [SETTINGS …] FORMAT F`, possibly followed by inline data. */
const INSERT_WITH_FORMAT = /^(\s*INSERT\s+INTO\s[^\n]*?)(\s+FORMAT\s+\w+)/i

/**
 * Puts the settings into the statement: before FORMAT for an INSERT (inline
 * data may follow it), after the statement for a query, and nowhere for DDL,
 * where a trailing SETTINGS clause would be read as table settings.
 */
export function scopeSettings(query: string, settings: Settings): string {
  // Comments before the first keyword (a migration's header) would hide it from the patterns below.
  const start = firstKeywordIndex(query)
  return query.slice(0, start) + scopeStatementSettings(query.slice(start), settings)
}

/** Index after the blanks, `--` and `#` line comments and nested block comments that open a statement. */
function firstKeywordIndex(query: string): number {
  let i = 0
  while (i < query.length) {
    if (/\s/.test(query[i] as string)) {
      i++
    } else if (query.startsWith('--', i) || query[i] === '#') {
      const end = query.indexOf('\n', i)
      i = end === -1 ? query.length : end + 1
    } else if (query.startsWith('/*', i)) {
      let depth = 0
      do {
        if (query.startsWith('/*', i)) {
          depth++
          i += 2
        } else if (query.startsWith('*/', i)) {
          depth--
          i += 2
        } else {
          i++
        }
      } while (depth > 0 && i < query.length)
    } else {
      break
    }
  }
  return i
}

function scopeStatementSettings(query: string, settings: Settings): string {
  const insert = INSERT_WITH_FORMAT.exec(query)
  if (insert !== null) {
    const clause = renderSettings(settings, OUTPUT_ONLY)
    if (clause === '') return query
    const header = insert[1] as string
    return `${header} SETTINGS ${clause}${query.slice(header.length)}`
  }
  if (DDL.test(query)) {
    const clause = renderSettings(settings, OUTPUT_ONLY)
    if (clause !== '') {
      throw new Error(`embedded ClickHouse cannot scope settings (${clause}) to a DDL or INSERT statement; run it without them`)
    }
    return query
  }
  const clause = renderSettings(settings)
  return clause === '' ? query : `${query}\nSETTINGS ${clause}`
}
