import type { ClickHouseClient } from '@clickhouse/client'
import { parseClickHouseTime } from '../schema/timestamp.js'
import { decodeCursor, encodeCursor, queryFingerprint } from './cursor.js'
import { QueryParams, TIME_TYPE } from './query-params.js'
import { choiceOption, integerOption, rejectUnknownKeys, single, type RequestInput } from './request-input.js'
import { selectRows, type QueryLimits } from './run-query.js'
import { describeEntry, selectQuarantine, statusCondition, type QuarantineStatus } from './quarantine-store.js'
import { timeCondition } from './selection-sql.js'
import { describeRange, resolveTimeRange, timeParam, type TimeRangeSpec } from './time-range.js'

/** Quarantine entries live 30 days by default (retention.quarantine_days), so a listing looks that far back. */
export const QUARANTINE_DEFAULT_START = 'now-30d'
export const MAX_QUARANTINE_LIMIT = 1000

export interface QuarantineFilter {
  range: TimeRangeSpec
  errorCode: string | undefined
  sourceFormat: string | undefined
  status: QuarantineStatus | 'all'
}

export interface QuarantineListRequest extends QuarantineFilter {
  tenant: string | undefined
  limit: number
  cursor: string | undefined
}

const QUERY_KEYS = ['start', 'end', 'error_code', 'source_format', 'status', 'limit', 'cursor', 'tenant'] as const
const STATUSES = ['all', 'pending', 'reprocessed', 'exhausted'] as const

/** Reads the query string of GET /v1/quarantine. */
export function parseQuarantineQuery(query: RequestInput, maxRows: number): QuarantineListRequest {
  rejectUnknownKeys(query, QUERY_KEYS, 'the quarantine request')
  const cap = Math.min(MAX_QUARANTINE_LIMIT, maxRows)
  return {
    range: { start: single(query['start'], 'start') ?? QUARANTINE_DEFAULT_START, end: single(query['end'], 'end') ?? 'now' },
    errorCode: single(query['error_code'], 'error_code'),
    sourceFormat: single(query['source_format'], 'source_format'),
    status: choiceOption(single(query['status'], 'status'), 'status', STATUSES, 'all'),
    limit: integerOption(single(query['limit'], 'limit'), 'limit', Math.min(100, cap), 1, cap),
    cursor: single(query['cursor'], 'cursor'),
    tenant: single(query['tenant'], 'tenant'),
  }
}

/** WHERE conditions shared by the listing and by reprocessing. */
export function quarantineConditions(tenant: string, filter: QuarantineFilter, range: { start: number; end: number }, params: QueryParams): string[] {
  const conditions = [`tenant_id = ${params.bind('String', tenant)}`, timeCondition('quarantined_at', range, params)]
  if (filter.errorCode !== undefined) conditions.push(`error_code = ${params.bind('String', filter.errorCode)}`)
  if (filter.sourceFormat !== undefined) conditions.push(`source_format = ${params.bind('String', filter.sourceFormat)}`)
  if (filter.status !== 'all') conditions.push(statusCondition(filter.status, params))
  return conditions
}

/** Reads one page of quarantine entries, newest first, with a keyset cursor over (quarantined_at, quarantine_id). */
export async function listQuarantine(client: ClickHouseClient, limits: QueryLimits, tenant: string, request: QuarantineListRequest) {
  const fingerprint = queryFingerprint({ tenant, range: request.range, error: request.errorCode ?? null, format: request.sourceFormat ?? null, status: request.status })
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor, fingerprint)
  const range = cursor?.range ?? resolveTimeRange(request.range)
  const params = new QueryParams()
  const conditions = quarantineConditions(tenant, request, range, params)
  if (cursor !== undefined) {
    const time = params.bind(TIME_TYPE, timeParam(cursor.time))
    conditions.push(`(quarantined_at < ${time} OR (quarantined_at = ${time} AND quarantine_id < ${params.bind('UUID', cursor.id)}))`)
  }
  const rows = await selectQuarantine(client, limits, conditions, params, 'DESC', request.limit + 1)
  const page = rows.slice(0, request.limit)
  const last = page[page.length - 1]
  const hasMore = rows.length > request.limit && last !== undefined
  return {
    tenant,
    time_range: describeRange(range),
    entries: page.map(describeEntry),
    count: page.length,
    has_more: hasMore,
    next_cursor: hasMore
      ? encodeCursor({ query: fingerprint, range, time: parseClickHouseTime(last.quarantined_at) ?? range.start, id: last.quarantine_id })
      : null,
  }
}

/** Counts entries by status, for the listing's summary. */
export async function countQuarantine(client: ClickHouseClient, limits: QueryLimits, tenant: string, filter: QuarantineFilter) {
  const range = resolveTimeRange(filter.range)
  const params = new QueryParams()
  const conditions = quarantineConditions(tenant, { ...filter, status: 'all' }, range, params)
  // The aliases differ from the column names: `AS reprocessed` would shadow the column inside countIf.
  const sql = `SELECT ${['pending', 'exhausted', 'reprocessed']
    .map((status) => `countIf(${statusCondition(status as QuarantineStatus, params)}) AS count_${status}`)
    .join(', ')} FROM events_quarantine FINAL WHERE ${conditions.join(' AND ')}`
  const rows = await selectRows<Record<string, string>>(client, sql, params, limits)
  const row = rows[0] ?? {}
  return { pending: Number(row['count_pending'] ?? 0), exhausted: Number(row['count_exhausted'] ?? 0), reprocessed: Number(row['count_reprocessed'] ?? 0) }
}
