import type { RunContext, RunningServer } from '../context.js'
import { TENANTS, userAt } from '../model/event-model.js'
import { sqlString } from '../model/sql-generator.js'
import { HttpStatusError, runSql } from '../support/http.js'
import { summarize, round, type Distribution } from '../support/stats.js'
import { forkWorker, nextMessage, workerExit } from '../support/workers.js'
import type { DatasetJob, DatasetMessage } from '../workers/dataset-worker.js'
import { EventGenerator } from '../model/js-generator.js'
import { readTableStorage, totalStoredBytes } from './storage.js'

export type QueryName = 'hourly_counts' | 'top_actions' | 'free_text' | 'actor_lookup' | 'deep_page' | 'rollup_aggregate' | 'rollup_query_on_events'

export interface QueryFigures {
  name: QueryName
  /** The query in words. */
  description: string
  /** `api`: the server's search and aggregate endpoints; `sql`: the equivalent SQL through POST /v1/sql. */
  via: 'api' | 'sql'
  /** Client-side round trip of the first, uncounted run. */
  first_ms: number
  ms: Distribution
  /** Rows (or buckets) the last run returned. */
  rows: number
  /** For aggregates: the tables the server reports it read (events, rollup, rollup+events). */
  answered_from: string | undefined
  target_p95_ms: number
}

export interface QueriesResult {
  events: number
  tenants: number
  span_hours: number
  dataset_build_seconds: number
  dataset_rows_per_s: number
  repeats: number
  /** Path the queries took: the API, or the reason SQL ran instead. */
  via_note: string
  /** Compressed `events` column data an event of the data set, whose draws never repeat. */
  dataset_events_bytes_per_event: number
  /** Mean JSON size of a model event as POST /v1/events receives it, id included. */
  model_json_bytes_per_event: number
  /** That JSON size over everything the data set takes on disk (every table, index and mark) an event. */
  dataset_compression_ratio: number
  queries: QueryFigures[]
}

const DAY_MS = 24 * 3600 * 1000
const PAGE_SIZE = 100
const DEEP_PAGE = 100
const WINDOW = 'timestamp >= now64(6) - INTERVAL 24 HOUR'

interface QueryRun {
  rows: number
  /** Tables an aggregate reports it read: events, rollup or rollup+events. */
  answeredFrom?: string
}

interface QuerySpec {
  name: QueryName
  description: string
  targetP95Ms: number
  /** Runs repetition `repeat` of the query and returns its row count. */
  run(repeat: number): Promise<QueryRun>
}

function tenantOf(repeat: number): string {
  return (TENANTS[repeat % TENANTS.length] as { id: string }).id
}

/** Returns a search term: in turn a client address, a user name and a phrase of the OpenSSH lines. */
function termOf(repeat: number): string {
  switch (repeat % 3) {
    case 0:
      return `203.0.113.${(repeat * 7) % 254 + 1}`
    case 1:
      return userAt(300 + repeat * 13)
    default:
      return 'POSSIBLE BREAK-IN'
  }
}

/** An actor of middling frequency, so that the lookup returns a full page from a small share of the rows. */
function actorOf(repeat: number): string {
  return userAt(100 + repeat * 17)
}

function sqlQueries(context: RunContext, server: RunningServer): QuerySpec[] {
  const sql = async (query: string): Promise<QueryRun> => ({ rows: (await runSql(server.http, query, context.adminKey)).rows.length })
  const tenantClause = (repeat: number): string => `tenant_id = ${sqlString(tenantOf(repeat))}`
  const columns = 'event_id, timestamp, source_product, action, actor_id, outcome, severity, raw'
  return [
    {
      name: 'hourly_counts',
      description: 'events per hour over 24 h for one tenant',
      targetP95Ms: 300,
      run: (repeat) =>
        sql(`SELECT toStartOfHour(timestamp) AS hour, count() AS events FROM events WHERE ${tenantClause(repeat)} AND ${WINDOW} GROUP BY hour ORDER BY hour`),
    },
    {
      name: 'top_actions',
      description: 'ten most frequent actions over 24 h',
      targetP95Ms: 300,
      run: (repeat) =>
        sql(`SELECT action, count() AS events FROM events WHERE ${tenantClause(repeat)} AND ${WINDOW} GROUP BY action ORDER BY events DESC LIMIT 10`),
    },
    {
      name: 'free_text',
      description: 'newest 100 events whose raw line contains a term (address, user or phrase)',
      targetP95Ms: 1000,
      run: (repeat) =>
        sql(
          `SELECT ${columns} FROM events WHERE ${tenantClause(repeat)} AND ${WINDOW} AND raw LIKE ${sqlString(`%${termOf(repeat)}%`)} ` +
            `ORDER BY timestamp DESC LIMIT ${PAGE_SIZE}`,
        ),
    },
    {
      name: 'actor_lookup',
      description: 'newest 100 events of one actor id',
      targetP95Ms: 300,
      run: (repeat) =>
        sql(
          `SELECT ${columns} FROM events WHERE ${tenantClause(repeat)} AND ${WINDOW} AND actor_id = ${sqlString(actorOf(repeat))} ` +
            `ORDER BY timestamp DESC LIMIT ${PAGE_SIZE}`,
        ),
    },
    {
      name: 'deep_page',
      description: `page ${DEEP_PAGE} of 100-event pages, newest first (OFFSET ${(DEEP_PAGE - 1) * PAGE_SIZE})`,
      targetP95Ms: 300,
      run: (repeat) =>
        sql(
          `SELECT ${columns} FROM events WHERE ${tenantClause(repeat)} AND ${WINDOW} ORDER BY timestamp DESC, event_id DESC ` +
            `LIMIT ${PAGE_SIZE} OFFSET ${(DEEP_PAGE - 1) * PAGE_SIZE}`,
        ),
    },
    {
      name: 'rollup_aggregate',
      description: 'events and maximum severity per hour and action from the hourly rollup',
      targetP95Ms: 300,
      run: (repeat) =>
        sql(
          `SELECT hour, action, sum(event_count) AS events, max(severity_max) AS severity_max FROM events_hourly ` +
            `WHERE ${tenantClause(repeat)} AND hour >= toStartOfHour(now() - INTERVAL 24 HOUR) GROUP BY hour, action ORDER BY hour, action`,
        ),
    },
    {
      name: 'rollup_query_on_events',
      description: 'the rollup_aggregate query computed from events instead, for comparison',
      targetP95Ms: 300,
      run: (repeat) =>
        sql(
          `SELECT toStartOfHour(timestamp) AS hour, action, count() AS events, max(severity) AS severity_max FROM events ` +
            `WHERE ${tenantClause(repeat)} AND timestamp >= toStartOfHour(now() - INTERVAL 24 HOUR) GROUP BY hour, action ORDER BY hour, action`,
        ),
    },
  ]
}

async function postApi(context: RunContext, server: RunningServer, path: string, body: object): Promise<Record<string, unknown>> {
  const response = await server.http.send({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'x-api-key': context.adminKey },
    body: JSON.stringify(body),
    timeoutMs: 120_000,
  })
  if (response.status !== 200) throw new HttpStatusError(`POST ${path}`, response)
  return JSON.parse(response.body) as Record<string, unknown>
}

function countOf(answer: Record<string, unknown>): number {
  if (Array.isArray(answer['events'])) return answer['events'].length
  if (typeof answer['count'] === 'number') return answer['count']
  return 0
}

/** Counts the buckets of the first aggregation result and reads which tables the server reports it used. */
function bucketsOf(answer: Record<string, unknown>): QueryRun {
  const aggregations = answer['aggregations']
  const first = (Array.isArray(aggregations) ? aggregations[0] : undefined) as Record<string, unknown> | undefined
  const buckets = first?.['buckets'] ?? first?.['bands']
  const source = first?.['source']
  return { rows: Array.isArray(buckets) ? buckets.length : 0, ...(typeof source === 'string' ? { answeredFrom: source } : {}) }
}

/** Follows search cursors to page `DEEP_PAGE - 1` and returns the cursor of page `DEEP_PAGE`. */
async function cursorOfDeepPage(context: RunContext, server: RunningServer, tenant: string): Promise<string> {
  let cursor: string | undefined
  for (let page = 1; page < DEEP_PAGE; page++) {
    const answer = await postApi(context, server, '/v1/search', { tenant, limit: PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) })
    const next = answer['next_cursor']
    if (typeof next !== 'string') throw new Error(`search returned no next_cursor on page ${page} for tenant ${tenant}`)
    cursor = next
  }
  return cursor as string
}

async function apiQueries(context: RunContext, server: RunningServer): Promise<QuerySpec[]> {
  const range = { start: 'now-24h' }
  const api = async (path: string, body: object): Promise<QueryRun> => ({ rows: countOf(await postApi(context, server, path, body)) })
  const aggregate = async (body: object): Promise<QueryRun> => bucketsOf(await postApi(context, server, '/v1/aggregate', body))
  // Walking 99 pages takes a few seconds, so page 100 is timed for the largest tenant only.
  const deepTenant = tenantOf(0)
  const deepCursor = await cursorOfDeepPage(context, server, deepTenant)
  return [
    {
      name: 'hourly_counts',
      description: 'events per hour over 24 h for one tenant (aggregate histogram 1h, source events)',
      targetP95Ms: 300,
      run: (repeat) => aggregate({ tenant: tenantOf(repeat), time_range: range, source: 'events', aggregations: [{ type: 'histogram', interval: '1h' }] }),
    },
    {
      name: 'top_actions',
      description: 'ten most frequent actions over 24 h (aggregate top action, source events)',
      targetP95Ms: 300,
      run: (repeat) =>
        aggregate({ tenant: tenantOf(repeat), time_range: range, source: 'events', aggregations: [{ type: 'top', field: 'action', limit: 10 }] }),
    },
    {
      name: 'free_text',
      description: 'newest 100 events whose raw line contains a term (search text)',
      targetP95Ms: 1000,
      run: (repeat) => api('/v1/search', { tenant: tenantOf(repeat), time_range: range, text: termOf(repeat), limit: PAGE_SIZE }),
    },
    {
      name: 'actor_lookup',
      description: 'newest 100 events of one actor id (search filter actor.id eq)',
      targetP95Ms: 300,
      run: (repeat) =>
        api('/v1/search', {
          tenant: tenantOf(repeat),
          time_range: range,
          filters: [{ field: 'actor.id', op: 'eq', value: actorOf(repeat) }],
          limit: PAGE_SIZE,
        }),
    },
    {
      name: 'deep_page',
      description: `page ${DEEP_PAGE} of 100-event pages, newest first, by search cursor (largest tenant)`,
      targetP95Ms: 300,
      run: () => api('/v1/search', { tenant: deepTenant, limit: PAGE_SIZE, cursor: deepCursor }),
    },
    {
      name: 'rollup_aggregate',
      description: 'events per hour and action over 24 h (aggregate group_by with source auto, which reads the hourly rollup)',
      targetP95Ms: 300,
      run: (repeat) =>
        aggregate({
          tenant: tenantOf(repeat),
          time_range: range,
          source: 'auto',
          aggregations: [{ type: 'group_by', fields: ['action', 'outcome'], limit: 100 }],
        }),
    },
    {
      name: 'rollup_query_on_events',
      description: 'the rollup_aggregate query with source events, to compare the rollup against the table it summarizes',
      targetP95Ms: 300,
      run: (repeat) =>
        aggregate({
          tenant: tenantOf(repeat),
          time_range: range,
          source: 'events',
          aggregations: [{ type: 'group_by', fields: ['action', 'outcome'], limit: 100 }],
        }),
    },
  ]
}

/** Finds out whether the server has the search API: 404 from POST /v1/search means it does not. */
async function searchApiAvailable(context: RunContext, server: RunningServer): Promise<{ available: boolean; note: string }> {
  const response = await server.http.send({
    method: 'POST',
    path: '/v1/search',
    headers: { 'content-type': 'application/json', 'x-api-key': context.adminKey },
    body: JSON.stringify({ tenant: tenantOf(0), limit: 1 }),
    timeoutMs: 60_000,
  })
  if (response.status === 200) return { available: true, note: 'search and aggregate API' }
  if (response.status === 404) return { available: false, note: 'the server has no /v1/search route, so the equivalent SQL ran through /v1/sql' }
  return { available: false, note: `POST /v1/search answered ${response.status}, so the equivalent SQL ran through /v1/sql: ${response.body.slice(0, 200)}` }
}

async function buildDataset(context: RunContext, dataDir: string): Promise<{ rows: number; seconds: number }> {
  const job: DatasetJob = { dataDir, events: context.options.queryEvents, endMs: Date.now(), spanMs: DAY_MS }
  context.progress(`queries: generating ${job.events} events over 24 h in ClickHouse`)
  const child = forkWorker('dataset-worker')
  const done = nextMessage<Extract<DatasetMessage, { type: 'done' }>>(child, 'done')
  child.send({ type: 'job', job })
  const { report } = await done
  await workerExit(child)
  return report
}

/** Mean JSON bytes of model events with their ids, as the load generator sends them. */
function modelJsonBytesPerEvent(): number {
  const generator = new EventGenerator(7)
  const sample = 2000
  let bytes = 0
  for (let i = 0; i < sample; i++) {
    bytes += Buffer.byteLength(JSON.stringify({ event_id: '00000000-0000-4000-8000-000000000000', ...generator.next(Date.now(), 60_000) }))
  }
  // Each event of a {"events": [...]} body also costs its separating comma.
  return bytes / sample + 1
}

async function time(run: () => Promise<QueryRun>): Promise<{ ms: number; outcome: QueryRun }> {
  const started = performance.now()
  const outcome = await run()
  return { ms: performance.now() - started, outcome }
}

/** Builds the query data set, starts a server on it and times each query. */
export async function runQueries(context: RunContext): Promise<QueriesResult> {
  const dataDir = context.directory('queries-data')
  const dataset = await buildDataset(context, dataDir)
  context.progress(`queries: ${dataset.rows} rows in ${round(dataset.seconds, 1)} s`)
  const server = await context.startServer('queries', { dataDir })
  try {
    const probe = await searchApiAvailable(context, server)
    const specs = probe.available ? await apiQueries(context, server) : sqlQueries(context, server)
    const repeats = context.options.queryRepeats
    context.progress(`queries: ${specs.length} queries x ${repeats} via ${probe.available ? 'the search API' : 'SQL'}`)
    const first = new Map<QueryName, number>()
    const times = new Map<QueryName, number[]>()
    const outcomes = new Map<QueryName, QueryRun>()
    for (const spec of specs) first.set(spec.name, (await time(() => spec.run(0))).ms)
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const spec of specs) {
        const measured = await time(() => spec.run(repeat))
        times.set(spec.name, [...(times.get(spec.name) ?? []), measured.ms])
        outcomes.set(spec.name, measured.outcome)
      }
    }
    const queries = specs.map((spec) => ({
      name: spec.name,
      description: spec.description,
      via: probe.available ? ('api' as const) : ('sql' as const),
      first_ms: round(first.get(spec.name) ?? Number.NaN),
      ms: summarize(times.get(spec.name) ?? []),
      rows: outcomes.get(spec.name)?.rows ?? 0,
      answered_from: outcomes.get(spec.name)?.answeredFrom,
      target_p95_ms: spec.targetP95Ms,
    }))
    const tables = await readTableStorage(context, server)
    const eventsTable = tables.find((entry) => entry.table === 'events')
    const jsonPerEvent = modelJsonBytesPerEvent()
    for (const query of queries) context.progress(`queries: ${query.name} p50 ${query.ms.p50} ms p95 ${query.ms.p95} ms, ${query.rows} rows`)
    return {
      events: dataset.rows,
      tenants: TENANTS.length,
      span_hours: 24,
      dataset_build_seconds: round(dataset.seconds, 1),
      dataset_rows_per_s: Math.round(dataset.rows / dataset.seconds),
      repeats,
      via_note: probe.note,
      dataset_events_bytes_per_event: round((eventsTable?.compressed_bytes ?? Number.NaN) / dataset.rows, 1),
      model_json_bytes_per_event: round(jsonPerEvent, 1),
      dataset_compression_ratio: round((jsonPerEvent * dataset.rows) / totalStoredBytes(tables), 2),
      queries,
    }
  } finally {
    await context.stopServer(server)
  }
}
