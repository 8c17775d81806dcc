import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { ClickHouseClient } from '@clickhouse/client'
import { CLI_PATH, childEnvironment } from './service-process.js'

const run = promisify(execFile)

/** Runs one SELECT and returns its rows as objects. */
export type RowReader = (query: string) => Promise<Record<string, unknown>[]>

/**
 * Reads through `siem sql --format json` on a data directory, which works
 * only while no service holds it.
 */
export function cliReader(options: { dataDir: string; configFile?: string }): RowReader {
  return async (query) => {
    const args = [CLI_PATH, 'sql', query, '--data-dir', options.dataDir, '--format', 'json']
    if (options.configFile !== undefined) args.push('--config', options.configFile)
    const { stdout } = await run(process.execPath, args, { env: childEnvironment({}), maxBuffer: 512 * 1024 * 1024, timeout: 120_000 })
    return JSON.parse(stdout) as Record<string, unknown>[]
  }
}

/** Reads through a ClickHouse client, such as one connected to the test server directly. */
export function clientReader(client: ClickHouseClient): RowReader {
  return async (query) => {
    const result = await client.query({ query, format: 'JSONEachRow' })
    return result.json<Record<string, unknown>>()
  }
}

export interface StoredState {
  /** Rows per event_id in `events`. */
  events: Map<string, number>
  /** Ids with severity >= 8 among `events`, which events_critical must hold once each. */
  criticalExpected: Set<string>
  /** Rows per event_id in `events_critical`. */
  critical: Map<string, number>
  /** Rows of `SELECT event_id, count() c FROM events GROUP BY event_id HAVING c > 1`. */
  duplicateRows: Record<string, unknown>[]
  /** sum(event_count) of events_hourly, which must equal the rows of `events`. */
  hourlyEventCount: number
}

/**
 * Reads what ClickHouse holds of the events with `source.product` =
 * `product`, in `events` and in the two tables its materialized views fill.
 */
export async function readStoredState(read: RowReader, product: string): Promise<StoredState> {
  if (!/^[A-Za-z0-9_-]+$/.test(product)) throw new Error(`product ${JSON.stringify(product)} is not a plain word`)
  const where = `source_product = '${product}'`
  const eventRows = await read(`SELECT toString(event_id) AS id, count() AS c, max(severity) AS severity FROM events WHERE ${where} GROUP BY event_id`)
  const events = new Map<string, number>()
  const criticalExpected = new Set<string>()
  for (const row of eventRows) {
    const id = String(row['id'])
    events.set(id, Number(row['c']))
    if (Number(row['severity']) >= 8) criticalExpected.add(id)
  }
  const duplicateRows = await read(`SELECT event_id, count() c FROM events WHERE ${where} GROUP BY event_id HAVING c > 1`)
  const criticalRows = await read(`SELECT toString(event_id) AS id, count() AS c FROM events_critical WHERE ${where} GROUP BY event_id`)
  const critical = new Map(criticalRows.map((row) => [String(row['id']), Number(row['c'])]))
  const hourly = await read(`SELECT sum(event_count) AS n FROM events_hourly WHERE ${where}`)
  return { events, criticalExpected, critical, duplicateRows, hourlyEventCount: Number(hourly[0]?.['n'] ?? 0) }
}

/** Problems of the tables filled by materialized views: a row missing, extra or twice. */
export function derivedTableProblems(state: StoredState): string[] {
  const problems: string[] = []
  let storedRows = 0
  for (const count of state.events.values()) storedRows += count
  if (state.hourlyEventCount !== storedRows) {
    problems.push(`events_hourly counts ${state.hourlyEventCount} events, events holds ${storedRows} rows`)
  }
  const missing = [...state.criticalExpected].filter((id) => !state.critical.has(id))
  const extra = [...state.critical.keys()].filter((id) => !state.criticalExpected.has(id))
  const twice = [...state.critical].filter(([, count]) => count !== 1)
  if (missing.length > 0) problems.push(`events_critical misses ${missing.length} events with severity >= 8, such as ${missing[0]}`)
  if (extra.length > 0) problems.push(`events_critical holds ${extra.length} events not in events, such as ${extra[0]}`)
  if (twice.length > 0) problems.push(`events_critical holds ${twice.length} events more than once, such as ${twice[0]?.[0]} x${twice[0]?.[1]}`)
  return problems
}
