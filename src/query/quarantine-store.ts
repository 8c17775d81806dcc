import type { ClickHouseClient } from '@clickhouse/client'
import { formatRfc3339Micros, parseClickHouseTime } from '../schema/timestamp.js'
import { QueryParams } from './query-params.js'
import { selectRows, type QueryLimits } from './run-query.js'

/**
 * Reprocessing gives up on an entry after this many attempts that still
 * failed validation, so a reprocess run does not retry hopeless input forever.
 */
export const MAX_REPROCESS_ATTEMPTS = 3

/** One `events_quarantine` row as JSONEachRow returns it (its newest version). */
export interface QuarantineEntry {
  quarantine_id: string
  quarantined_at: string
  tenant_id: string
  raw_event: string
  source_ip: string
  source_format: string
  validation_errors: string[]
  error_code: string
  reprocess_attempts: number
  reprocessed: boolean
  reprocessed_at: string | null
  reprocessed_event_id: string | null
  state_version: number
}

export type QuarantineStatus = 'pending' | 'reprocessed' | 'exhausted'

export const QUARANTINE_COLUMNS = [
  'quarantine_id',
  'quarantined_at',
  'tenant_id',
  'raw_event',
  'source_ip',
  'source_format',
  'validation_errors',
  'error_code',
  'reprocess_attempts',
  'reprocessed',
  'reprocessed_at',
  'reprocessed_event_id',
  'state_version',
] as const

/** The condition of each status on the newest version of an entry. */
export function statusCondition(status: QuarantineStatus, params: QueryParams): string {
  const max = params.bind('UInt8', MAX_REPROCESS_ATTEMPTS)
  switch (status) {
    case 'pending':
      return `reprocessed = false AND reprocess_attempts < ${max}`
    case 'exhausted':
      return `reprocessed = false AND reprocess_attempts >= ${max}`
    case 'reprocessed':
      return 'reprocessed = true'
  }
}

export function statusOf(entry: QuarantineEntry): QuarantineStatus {
  if (entry.reprocessed) return 'reprocessed'
  return Number(entry.reprocess_attempts) >= MAX_REPROCESS_ATTEMPTS ? 'exhausted' : 'pending'
}

/**
 * Reads the newest version of each matching entry. Every reprocess attempt
 * writes a new version of the row (see the table's comment in the
 * migrations), so the query reads with FINAL: ClickHouse then keeps only the
 * highest state_version per sort key before it applies WHERE, and a status
 * filter sees each entry's current state, not an older version of it.
 */
export async function selectQuarantine(
  client: ClickHouseClient,
  limits: QueryLimits,
  conditions: string[],
  params: QueryParams,
  order: 'ASC' | 'DESC',
  limit: number,
): Promise<QuarantineEntry[]> {
  const sql = [
    `SELECT ${QUARANTINE_COLUMNS.join(', ')}`,
    'FROM events_quarantine FINAL',
    `WHERE ${conditions.join('\n  AND ')}`,
    `ORDER BY quarantined_at ${order}, quarantine_id ${order}`,
    `LIMIT ${params.bind('UInt32', limit)}`,
  ].join('\n')
  const rows = await selectRows<QuarantineEntry>(client, sql, params, limits)
  return rows.map((row) => ({ ...row, reprocess_attempts: Number(row.reprocess_attempts), state_version: Number(row.state_version) }))
}

function rfc3339(value: string | null): string | null {
  if (value === null) return null
  const micros = parseClickHouseTime(value)
  return micros === undefined ? value : formatRfc3339Micros(micros)
}

/** The API form of an entry: times as RFC 3339, with its status. */
export function describeEntry(entry: QuarantineEntry): Record<string, unknown> {
  return {
    quarantine_id: entry.quarantine_id,
    quarantined_at: rfc3339(entry.quarantined_at),
    status: statusOf(entry),
    source_format: entry.source_format,
    source_ip: entry.source_ip,
    error_code: entry.error_code,
    validation_errors: entry.validation_errors,
    raw_event: entry.raw_event,
    reprocess_attempts: entry.reprocess_attempts,
    reprocessed: entry.reprocessed,
    reprocessed_at: rfc3339(entry.reprocessed_at),
    reprocessed_event_id: entry.reprocessed_event_id,
  }
}

/**
 * Writes new versions of entries. The sort key (tenant_id, quarantined_at,
 * quarantine_id) is copied unchanged, so ReplacingMergeTree treats each row
 * as the next version of the same entry and keeps the one with the highest
 * state_version.
 */
export async function writeVersions(client: ClickHouseClient, rows: QuarantineEntry[]): Promise<void> {
  if (rows.length === 0) return
  await client.insert({ table: 'events_quarantine', values: rows, format: 'JSONEachRow' })
}
