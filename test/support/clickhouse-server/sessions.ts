import type { Session } from 'chdb'
import { ServerException } from './exception.js'
import { IDENTIFIER, quoteIdentifier, quoteString } from './sql-text.js'

/** The `session_id`, `session_timeout` and `session_check` URL parameters of a request. */
export interface SessionRequest {
  id: string
  /** Seconds the session lives after its last request ends. */
  timeoutSeconds: number
  /** `session_check=1`: fail when the session does not exist yet. */
  check: boolean
}

/** Request state a lease snapshots, so the request's own changes can be undone afterwards. */
export interface RequestState {
  database: string | undefined
  settings: ReadonlyArray<readonly [string, string]>
}

interface Entry {
  session: Session
  busy: boolean
  timeoutSeconds: number
  expiry: NodeJS.Timeout | undefined
}

/** Longest `session_timeout` the server accepts (its `max_session_timeout` default), in seconds. */
export const MAX_SESSION_TIMEOUT_SECONDS = 3600

/**
 * The chdb Sessions behind `session_id`. As on a server, a session keeps
 * what SET and USE statements change, one request at a time uses it, and it
 * expires `session_timeout` seconds after its last request.
 */
export class SessionRegistry {
  private readonly entries = new Map<string, Entry>()

  constructor(private readonly openSession: () => Session) {}

  /**
   * Takes the session for one request, creating it unless `check` is set.
   *
   * @throws ServerException SESSION_NOT_FOUND or SESSION_IS_LOCKED.
   */
  acquire(request: SessionRequest): SessionLease {
    let entry = this.entries.get(request.id)
    const fresh = entry === undefined
    if (entry === undefined) {
      if (request.check) {
        throw new ServerException(372, 'SESSION_NOT_FOUND', `Session ${request.id} not found`)
      }
      entry = { session: this.openSession(), busy: false, timeoutSeconds: request.timeoutSeconds, expiry: undefined }
      this.entries.set(request.id, entry)
    }
    if (entry.busy) {
      throw new ServerException(373, 'SESSION_IS_LOCKED', `Session ${request.id} is locked by a concurrent client`)
    }
    entry.busy = true
    entry.timeoutSeconds = request.timeoutSeconds
    clearTimeout(entry.expiry)
    return new SessionLease(entry.session, fresh, () => this.release(request.id, entry))
  }

  /** Closes every session. */
  close(): void {
    for (const entry of this.entries.values()) {
      clearTimeout(entry.expiry)
      entry.session.close()
    }
    this.entries.clear()
  }

  private release(id: string, entry: Entry): void {
    entry.busy = false
    entry.expiry = setTimeout(() => {
      this.entries.delete(id)
      entry.session.close()
    }, entry.timeoutSeconds * 1000)
    entry.expiry.unref()
  }
}

/** One request's hold on a session. */
export class SessionLease {
  constructor(
    readonly session: Session,
    /** True for the first request of a new session. */
    readonly fresh: boolean,
    readonly release: () => void,
  ) {}

  /**
   * Reads the current database and the current values of the settings the
   * request sets, and returns the statements that put them back, because a
   * server applies URL settings and `database` to one query, not to the
   * session.
   * NOTE: query parameters set for a request stay in the session, because
   * the engine has no statement that unsets one.
   */
  async snapshot(request: RequestState): Promise<string> {
    const statements: string[] = []
    if (request.database !== undefined) {
      const [row] = await this.rows<{ database: string }>('SELECT currentDatabase() AS database')
      if (row !== undefined) statements.push(`USE ${quoteIdentifier(row.database)}`)
    }
    const names = request.settings.map(([name]) => name).filter((name) => IDENTIFIER.test(name))
    if (names.length > 0) {
      const list = names.map(quoteString).join(', ')
      const rows = await this.rows<SettingRow>(
        `SELECT name, value, changed FROM system.settings WHERE name IN (${list})`,
      )
      statements.push(...restoreSettings(rows))
    }
    return statements.join(';\n')
  }

  private async rows<T>(query: string): Promise<T[]> {
    const result = await this.session.queryAsync(query, { format: 'JSONEachRow' })
    return result
      .text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as T)
  }
}

interface SettingRow {
  name: string
  value: string
  changed: number
}

function restoreSettings(rows: SettingRow[]): string[] {
  const statements: string[] = []
  let readonly: string | undefined
  for (const row of rows) {
    if (row.name === 'readonly') {
      // `readonly` can only be reset to its default while it is non-zero, so
      // it goes first, and a changed value is set again last.
      statements.unshift('SET readonly = DEFAULT')
      if (row.changed === 1) readonly = row.value
    } else {
      statements.push(row.changed === 1 ? `SET ${row.name} = ${quoteString(row.value)}` : `SET ${row.name} = DEFAULT`)
    }
  }
  if (readonly !== undefined) statements.push(`SET readonly = ${quoteString(readonly)}`)
  return statements
}
