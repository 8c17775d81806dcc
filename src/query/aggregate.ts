import type { ClickHouseClient } from '@clickhouse/client'
import { SiemError } from '../errors.js'
import { formatRfc3339Micros } from '../schema/timestamp.js'
import { MAX_HISTOGRAM_BUCKETS, type AggregateRequest, type Aggregation } from './aggregate-request.js'
import type { FieldRef } from './fields.js'
import { filterCondition, filtersFitRollup, metadataTextExpression } from './filters.js'
import { QueryParams } from './query-params.js'
import { selectRows, type QueryLimits } from './run-query.js'
import { selectionConditions, type SelectionSql } from './selection-sql.js'
import { MICROS_PER_HOUR, describeRange, resolveTimeRange, timeParam, type TimeRange } from './time-range.js'

/** Severity bands of the 1-10 scale; `critical` is what events_critical keeps (8 and up). */
export const SEVERITY_BANDS = [
  { band: 'low', min: 1, max: 3 },
  { band: 'medium', min: 4, max: 5 },
  { band: 'high', min: 6, max: 7 },
  { band: 'critical', min: 8, max: 10 },
] as const

const SEVERITY_BAND_SQL = "multiIf(severity <= 3, 'low', severity <= 5, 'medium', severity <= 7, 'high', 'critical')"

/** Tables an aggregation was read from. */
export type AnsweredFrom = 'events' | 'rollup' | 'rollup+events'

export interface AggregationResult {
  name: string
  type: Aggregation['type']
  source: AnsweredFrom
  [data: string]: unknown
}

export interface AggregateResult {
  tenant: string
  time_range: { start: string; end: string }
  aggregations: AggregationResult[]
}

/** One source of partial counts: the rollup over whole hours, or `events` over a range. */
interface Part {
  table: 'events' | 'events_hourly'
  range: TimeRange
}

type CountRow = Record<string, string | number> & { count: string | number }

/**
 * Splits a range into the whole hours the rollup can answer and the partial
 * hours at either edge that only `events` can. Counts over the parts add up
 * to the count over the range, because every event falls in exactly one part
 * and the rollup counts each event of an hour once.
 */
export function splitForRollup(range: TimeRange): { rollup: TimeRange | undefined; edges: TimeRange[] } {
  const first = Math.ceil(range.start / MICROS_PER_HOUR) * MICROS_PER_HOUR
  const last = Math.floor(range.end / MICROS_PER_HOUR) * MICROS_PER_HOUR
  if (first >= last) return { rollup: undefined, edges: [range] }
  const edges: TimeRange[] = []
  if (range.start < first) edges.push({ start: range.start, end: first })
  if (last < range.end) edges.push({ start: last, end: range.end })
  return { rollup: { start: first, end: last }, edges }
}

/** True when the hourly rollup contains what the aggregation needs: its dimensions, and hour-sized buckets. */
function aggregationFitsRollup(aggregation: Aggregation): boolean {
  const inRollup = (field: FieldRef): boolean => field.type === 'column' && field.spec.inRollup === true
  switch (aggregation.type) {
    case 'count':
      return true
    case 'top':
      return inRollup(aggregation.field)
    case 'group_by':
      return aggregation.fields.every(inRollup)
    case 'histogram':
      return aggregation.intervalMicros % MICROS_PER_HOUR === 0
    case 'severity_bands':
      // The rollup keeps the sum and maximum of severity per hour, not how many events had each value.
      return false
  }
}

/** Picks the tables and time parts one aggregation is read from. */
function planParts(request: AggregateRequest, aggregation: Aggregation, range: TimeRange): Part[] {
  const fits = request.text === undefined && filtersFitRollup(request.filters) && aggregationFitsRollup(aggregation)
  if (request.source === 'rollup') {
    const split = splitForRollup(range)
    if (!fits || split.rollup === undefined || split.edges.length > 0) {
      throw new SiemError(
        'SIEM_ERR_QUERY_INVALID',
        `aggregation ${aggregation.name} cannot be read from the hourly rollup: that needs hour-aligned time_range ends, no text, ` +
          'filters and groups only on source.product, action and outcome, and hour-multiple histogram intervals',
        { value: aggregation.name },
      )
    }
    return [{ table: 'events_hourly', range: split.rollup }]
  }
  if (request.source === 'events' || !fits) return [{ table: 'events', range }]
  const split = splitForRollup(range)
  if (split.rollup === undefined) return [{ table: 'events', range }]
  return [{ table: 'events_hourly', range: split.rollup }, ...split.edges.map((edge): Part => ({ table: 'events', range: edge }))]
}

function answeredFrom(parts: Part[]): AnsweredFrom {
  const tables = new Set(parts.map((part) => part.table))
  if (tables.size === 2) return 'rollup+events'
  return tables.has('events_hourly') ? 'rollup' : 'events'
}

/** SQL of the group keys of an aggregation, the same expression on either table. */
function keyExpressions(aggregation: Aggregation, table: Part['table'], params: QueryParams, bucketMicros: string | undefined): string[] {
  const field = (ref: FieldRef): string => (ref.type === 'column' ? ref.spec.column : metadataTextExpression(ref.path, params))
  switch (aggregation.type) {
    case 'count':
      return []
    case 'top':
      return [field(aggregation.field)]
    case 'group_by':
      return aggregation.fields.map(field)
    case 'severity_bands':
      return [SEVERITY_BAND_SQL]
    case 'histogram':
      // Buckets are counted in whole intervals since the Unix epoch, so both tables agree on their edges.
      return table === 'events'
        ? [`intDiv(toUnixTimestamp64Micro(timestamp), ${bucketMicros})`]
        : [`intDiv(toInt64(toUnixTimestamp(hour)) * 1000000, ${bucketMicros})`]
  }
}

function partSql(part: Part, aggregation: Aggregation, selection: SelectionSql, params: QueryParams, bucketMicros: string | undefined): string {
  const keys = keyExpressions(aggregation, part.table, params, bucketMicros).map((sql, index) => `${sql} AS k${index}`)
  const groupBy = keys.length === 0 ? '' : ` GROUP BY ${keys.map((_key, index) => `k${index}`).join(', ')}`
  if (part.table === 'events') {
    const conditions = selectionConditions(selection, part.range, params)
    return `SELECT ${[...keys, 'count() AS c'].join(', ')} FROM events WHERE ${conditions.join(' AND ')}${groupBy}`
  }
  const conditions = [
    `tenant_id = ${params.bind('String', selection.tenant)}`,
    `hour >= ${params.bind("DateTime('UTC')", timeParam(part.range.start).slice(0, 19))}`,
    `hour < ${params.bind("DateTime('UTC')", timeParam(part.range.end).slice(0, 19))}`,
    ...selection.filters.map((filter) => filterCondition(filter, params)),
  ]
  return `SELECT ${[...keys, 'sum(event_count) AS c'].join(', ')} FROM events_hourly WHERE ${conditions.join(' AND ')}${groupBy}`
}

function keyCount(aggregation: Aggregation): number {
  if (aggregation.type === 'count') return 0
  if (aggregation.type === 'group_by') return aggregation.fields.length
  return 1
}

function limitOf(aggregation: Aggregation, range: TimeRange): number {
  switch (aggregation.type) {
    case 'top':
    case 'group_by':
      return aggregation.limit
    case 'histogram':
      return bucketCount(range, aggregation.intervalMicros)
    default:
      return SEVERITY_BANDS.length + 1
  }
}

function bucketCount(range: TimeRange, interval: number): number {
  return Math.ceil(range.end / interval) - Math.floor(range.start / interval)
}

/** Builds the statement of one aggregation: partial counts from each part, added up per key. */
function aggregationSql(aggregation: Aggregation, parts: Part[], selection: SelectionSql, range: TimeRange, params: QueryParams): string {
  const bucketMicros = aggregation.type === 'histogram' ? params.bind('Int64', aggregation.intervalMicros) : undefined
  const union = parts.map((part) => partSql(part, aggregation, selection, params, bucketMicros)).join('\nUNION ALL\n')
  const keys = Array.from({ length: keyCount(aggregation) }, (_unused, index) => `k${index}`)
  if (keys.length === 0) return `SELECT sum(c) AS count FROM (\n${union}\n)`
  const order = aggregation.type === 'histogram' ? 'k0 ASC' : `count DESC, ${keys.map((key) => `${key} ASC`).join(', ')}`
  return [
    `SELECT ${keys.join(', ')}, sum(c) AS count FROM (\n${union}\n)`,
    `GROUP BY ${keys.join(', ')}`,
    `ORDER BY ${order}`,
    `LIMIT ${params.bind('UInt32', limitOf(aggregation, range))}`,
  ].join('\n')
}

function fieldName(ref: FieldRef): string {
  return ref.type === 'column' ? ref.spec.name : ref.name
}

function shapeResult(aggregation: Aggregation, rows: CountRow[], range: TimeRange): Record<string, unknown> {
  const count = (row: CountRow | undefined): number => Number(row?.count ?? 0)
  switch (aggregation.type) {
    case 'count':
      return { value: count(rows[0]) }
    case 'top':
      return { field: fieldName(aggregation.field), buckets: rows.map((row) => ({ key: row['k0'], count: count(row) })) }
    case 'group_by': {
      const names = aggregation.fields.map(fieldName)
      return {
        fields: names,
        buckets: rows.map((row) => ({ keys: Object.fromEntries(names.map((name, index) => [name, row[`k${index}`]])), count: count(row) })),
      }
    }
    case 'severity_bands': {
      const byBand = new Map(rows.map((row) => [String(row['k0']), count(row)]))
      return { bands: SEVERITY_BANDS.map((band) => ({ ...band, count: byBand.get(band.band) ?? 0 })) }
    }
    case 'histogram': {
      const interval = aggregation.intervalMicros
      const byBucket = new Map(rows.map((row) => [Number(row['k0']), count(row)]))
      const first = Math.floor(range.start / interval)
      const buckets = Array.from({ length: bucketCount(range, interval) }, (_unused, offset) => ({
        start: formatRfc3339Micros((first + offset) * interval),
        count: byBucket.get(first + offset) ?? 0,
      }))
      return { interval: aggregation.interval, buckets }
    }
  }
}

/**
 * Runs every aggregation of a request. Each one reads the hourly rollup for
 * the whole hours of the range when it fits (no text, filters and keys only
 * on source.product, action and outcome, hour-multiple buckets), and `events`
 * for the rest, and adds the partial counts up in the same statement.
 */
export async function runAggregate(client: ClickHouseClient, limits: QueryLimits, tenant: string, request: AggregateRequest): Promise<AggregateResult> {
  const range = resolveTimeRange(request.range)
  const selection: SelectionSql = { tenant, filters: request.filters, text: request.text, ignoreCase: request.ignoreCase }
  const results: AggregationResult[] = []
  for (const aggregation of request.aggregations) {
    if (aggregation.type === 'histogram') {
      const buckets = bucketCount(range, aggregation.intervalMicros)
      if (buckets > Math.min(MAX_HISTOGRAM_BUCKETS, limits.maxRows)) {
        throw new SiemError(
          'SIEM_ERR_QUERY_TOO_MANY_ROWS',
          `histogram ${aggregation.name} would have ${buckets} buckets, more than ${Math.min(MAX_HISTOGRAM_BUCKETS, limits.maxRows)}; use a longer interval`,
          { value: buckets },
        )
      }
    }
    const parts = planParts(request, aggregation, range)
    const params = new QueryParams()
    const rows = await selectRows<CountRow>(client, aggregationSql(aggregation, parts, selection, range, params), params, limits)
    results.push({ name: aggregation.name, type: aggregation.type, source: answeredFrom(parts), ...shapeResult(aggregation, rows, range) })
  }
  return { tenant, time_range: describeRange(range), aggregations: results }
}
