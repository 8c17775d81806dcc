import type { ClickHouseClient } from '@clickhouse/client'
import { parseClickHouseTime } from '../schema/timestamp.js'
import { decodeCursor, encodeCursor, queryFingerprint, type CursorState } from './cursor.js'
import { projectionColumns, toCanonicalEvent, type EventColumns } from './event-shape.js'
import { QueryParams, TIME_TYPE } from './query-params.js'
import { selectRows, type QueryLimits } from './run-query.js'
import { selectionKey, type SearchRequest, type SortOrder } from './search-request.js'
import { selectionConditions } from './selection-sql.js'
import { MICROS_PER_HOUR, describeRange, resolveTimeRange, timeParam, type TimeRange } from './time-range.js'

export interface SearchResult {
  tenant: string
  time_range: { start: string; end: string }
  events: Record<string, unknown>[]
  count: number
  has_more: boolean
  next_cursor: string | null
  /** Statements run for this page (one per time window scanned). */
  windows: number
}

/** First time window a page scans, and how much each next window grows. */
const FIRST_WINDOW = MICROS_PER_HOUR
const WINDOW_GROWTH = 4

interface Position {
  time: number
  id: string
}

/**
 * Runs one page of a search. Rows come in (timestamp, event_id) order, and
 * the next page starts after the last row (keyset paging), so a deep page
 * costs no more than the first: it never reads and skips the rows before it.
 *
 * The events table is sorted by (tenant_id, source_product, hour, event_id),
 * not by time, so ClickHouse cannot stop reading after LIMIT rows in time
 * order. A page therefore scans the range in windows that start at the edge
 * it sorts from and grow fourfold (1 h, 4 h, 16 h, …) until it has enough
 * rows: a page of recent events reads the last hour, not the whole range,
 * and a sparse search reads at most about 4/3 of the range.
 */
export async function runSearch(client: ClickHouseClient, limits: QueryLimits, tenant: string, request: SearchRequest): Promise<SearchResult> {
  const fingerprint = queryFingerprint({ tenant, sort: request.sort, selection: selectionKey(request) })
  const cursor: CursorState | undefined = request.cursor === undefined ? undefined : decodeCursor(request.cursor, fingerprint)
  const range = cursor?.range ?? resolveTimeRange(request.range)
  const after: Position | undefined = cursor === undefined ? undefined : { time: cursor.time, id: cursor.id }
  const remaining = remainingRange(range, request.sort, after)

  const rows: EventColumns[] = []
  let windows = 0
  for (const window of timeWindows(remaining, request.sort)) {
    windows++
    const wanted = request.limit + 1 - rows.length
    rows.push(...(await selectPage(client, limits, tenant, request, window, after, wanted)))
    if (rows.length > request.limit) break
  }

  const hasMore = rows.length > request.limit
  const page = rows.slice(0, request.limit)
  const last = page[page.length - 1]
  const nextCursor =
    hasMore && last !== undefined
      ? encodeCursor({ query: fingerprint, range, time: parseClickHouseTime(String(last['timestamp'])) ?? range.start, id: String(last['event_id']) })
      : null
  return {
    tenant,
    time_range: describeRange(range),
    events: page.map((row) => toCanonicalEvent(row, request.projection)),
    count: page.length,
    has_more: hasMore,
    next_cursor: nextCursor,
    windows,
  }
}

/** The part of the range not yet returned: up to and including the cursor's time, on the side the sort moves to. */
function remainingRange(range: TimeRange, sort: SortOrder, after: Position | undefined): TimeRange {
  if (after === undefined) return range
  if (sort === 'desc') return { start: range.start, end: Math.min(range.end, after.time + 1) }
  return { start: Math.max(range.start, after.time), end: range.end }
}

/** Splits a range into growing windows, ordered from the edge the sort starts at. */
export function* timeWindows(range: TimeRange, sort: SortOrder): Generator<TimeRange> {
  let size = FIRST_WINDOW
  if (sort === 'desc') {
    let end = range.end
    while (end > range.start) {
      const start = Math.max(range.start, end - size)
      yield { start, end }
      end = start
      size *= WINDOW_GROWTH
    }
    return
  }
  let start = range.start
  while (start < range.end) {
    const end = Math.min(range.end, start + size)
    yield { start, end }
    start = end
    size *= WINDOW_GROWTH
  }
}

async function selectPage(
  client: ClickHouseClient,
  limits: QueryLimits,
  tenant: string,
  request: SearchRequest,
  window: TimeRange,
  after: Position | undefined,
  wanted: number,
): Promise<EventColumns[]> {
  const params = new QueryParams()
  const conditions = selectionConditions({ tenant, filters: request.filters, text: request.text, ignoreCase: request.ignoreCase }, window, params)
  if (after !== undefined) {
    // Rows at the cursor's own timestamp continue by event_id; the window already excludes later (or earlier) times.
    const compare = request.sort === 'desc' ? '<' : '>'
    const time = params.bind(TIME_TYPE, timeParam(after.time))
    conditions.push(`(timestamp ${compare} ${time} OR event_id ${compare} ${params.bind('UUID', after.id)})`)
  }
  const direction = request.sort === 'desc' ? 'DESC' : 'ASC'
  const sql = [
    `SELECT ${projectionColumns(request.projection).join(', ')}`,
    'FROM events',
    `WHERE ${conditions.join('\n  AND ')}`,
    `ORDER BY timestamp ${direction}, event_id ${direction}`,
    `LIMIT ${params.bind('UInt32', wanted)}`,
  ].join('\n')
  return selectRows<EventColumns>(client, sql, params, limits)
}
