import { Session } from 'chdb'
import type { Logger } from 'pino'
import { insertRaw } from './chdb-native.js'
import { fromEngineError, ServerException } from './exception.js'
import { SessionRegistry, type SessionRequest } from './sessions.js'
import { IDENTIFIER, quoteIdentifier, quoteString } from './sql-text.js'

/** One statement to run, with the request state the HTTP layer collected. */
export interface EngineRequest {
  /** Statement text; for an INSERT with data, the text up to where the data begins. */
  sql: string
  /** Input of an `INSERT ... FORMAT <name>` statement; undefined for every other statement. */
  data: Buffer | undefined
  /** Current database for the statement; undefined keeps `default` (or the session's). */
  database: string | undefined
  /** Settings applied to this statement only, as name and text value. */
  settings: ReadonlyArray<readonly [string, string]>
  /** Query parameters (`{name:Type}`), as name and the text the client sent. */
  params: ReadonlyArray<readonly [string, string]>
  /** Output format used when the statement has no FORMAT clause. */
  defaultFormat: string
  session: SessionRequest | undefined
}

/** Result of one statement, with the counters the X-ClickHouse-Summary header reports. */
export interface EngineResult {
  body: Buffer
  readRows: number
  readBytes: number
  writtenRows: number
  writtenBytes: number
  resultRows: number
  resultBytes: number
}

/**
 * Settings where chdb, as an embedded engine, starts from other values than
 * a ClickHouse server of the same release. `implicit_select` would let a
 * bare expression such as `1 + 1` run as a query, which a server rejects.
 */
const SERVER_DEFAULTS: ReadonlyArray<readonly [string, string]> = [
  ['implicit_select', '0'],
  ['allow_introspection_functions', '0'],
]

/**
 * The chdb engine behind the test server. Each request runs on a chdb
 * Session of its own, with its own settings and current database. So
 * nothing a request sets reaches the next one, just as each HTTP request on
 * a server gets a fresh query context. A base Session stays open for the
 * process lifetime so the engine is not torn down between requests.
 */
export class Engine {
  readonly version: string
  readonly timezone: string
  private readonly base: Session
  private readonly sessions: SessionRegistry
  private closed = false

  private constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
    base: Session,
    version: string,
    timezone: string,
  ) {
    this.base = base
    this.version = version
    this.timezone = timezone
    this.sessions = new SessionRegistry(() => new Session(dataDir))
  }

  /** Opens the engine on `dataDir` and reads the version and time zone it reports. */
  static async open(dataDir: string, logger: Logger): Promise<Engine> {
    const base = new Session(dataDir)
    const result = await base.queryAsync('SELECT version() AS version, timezone() AS timezone', {
      format: 'JSONEachRow',
    })
    const row = result.json<{ version: string; timezone: string }>()
    return new Engine(dataDir, logger, base, row.version, row.timezone)
  }

  /**
   * Runs one statement with its request state.
   *
   * @throws ServerException with the engine's code, name and message.
   */
  async run(request: EngineRequest): Promise<EngineResult> {
    if (this.closed) throw new ServerException(210, 'NETWORK_ERROR', 'Server is shutting down')
    const lease = request.session === undefined ? undefined : this.sessions.acquire(request.session)
    const session = lease?.session ?? new Session(this.dataDir)
    try {
      const restore = lease === undefined ? '' : await lease.snapshot(request)
      try {
        await this.applyRequestState(session, request, lease?.fresh ?? true)
        return await this.execute(session, request)
      } finally {
        if (restore !== '') await this.restoreSession(session, restore, request)
      }
    } catch (err) {
      throw fromEngineError(err)
    } finally {
      if (lease === undefined) session.close()
      else lease.release()
    }
  }

  /** Closes every session. Safe to call twice. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.sessions.close()
    this.base.close()
  }

  private async restoreSession(session: Session, restore: string, request: EngineRequest): Promise<void> {
    try {
      await session.queryAsync(restore)
    } catch (err) {
      this.logger.warn({ session_id: request.session?.id, err }, 'could not restore the session settings after a request')
    }
  }

  private async applyRequestState(session: Session, request: EngineRequest, fresh: boolean): Promise<void> {
    const defaults = fresh ? SERVER_DEFAULTS.map(([name, value]) => `SET ${name} = ${quoteString(value)}`) : []
    const statements = [...defaults, ...requestStateStatements(request)]
    if (statements.length > 0) await session.queryAsync(statements.join(';\n'))
  }

  private async execute(session: Session, request: EngineRequest): Promise<EngineResult> {
    if (request.data !== undefined) {
      // The native insert treats anything after the format name, even a
      // newline, as inline data, which it rejects next to separate data.
      const result = await insertRaw(session.connection, request.sql.trimEnd(), request.data)
      return {
        body: Buffer.alloc(0),
        readRows: result.rowsWritten,
        readBytes: result.bytesWritten,
        writtenRows: result.rowsWritten,
        writtenBytes: result.bytesWritten,
        resultRows: 0,
        resultBytes: 0,
      }
    }
    const result = await session.queryAsync(request.sql, { format: request.defaultFormat })
    // NOTE: chdb reports the rows and bytes of the result, not of the data
    // the query read, so read_rows and result_rows carry the same number.
    return {
      body: Buffer.from(result.bytes()),
      readRows: result.rowsRead,
      readBytes: result.bytesRead,
      writtenRows: 0,
      writtenBytes: 0,
      resultRows: result.rowsRead,
      resultBytes: result.bytesRead,
    }
  }
}

/**
 * Builds the statements that give a Session the request's parameters,
 * database and settings. `readonly` goes last: a server checks the URL's
 * settings against the settings in force before the request, so
 * `readonly=1` next to other settings is accepted there too.
 */
function requestStateStatements(request: EngineRequest): string[] {
  const statements: string[] = []
  for (const [name, value] of request.params) {
    if (!IDENTIFIER.test(name)) {
      throw new ServerException(457, 'BAD_QUERY_PARAMETER', `Invalid query parameter name '${name}'`)
    }
    statements.push(`SET param_${name} = ${quoteString(value)}`)
  }
  if (request.database !== undefined) statements.push(`USE ${quoteIdentifier(request.database)}`)
  const ordered = [...request.settings].sort(([a], [b]) => Number(a === 'readonly') - Number(b === 'readonly'))
  for (const [name, value] of ordered) {
    statements.push(`SET ${settingName(name)} = ${quoteString(value)}`)
  }
  return statements
}

function settingName(name: string): string {
  if (!IDENTIFIER.test(name)) throw new ServerException(115, 'UNKNOWN_SETTING', `Unknown setting '${name}'`)
  return name
}
