import type { ClickHouseClient } from '@clickhouse/client'
import type { RetentionConfig } from '../config/types.js'
import type { Logger } from '../logger.js'

interface TtlTarget {
  table: string
  /** Expression the TTL counts from. */
  column: string
  days: number
}

export function retentionTargets(config: RetentionConfig): TtlTarget[] {
  return [
    { table: 'events', column: 'toDateTime(timestamp)', days: config.events_days },
    { table: 'events_hourly', column: 'hour', days: config.events_days },
    { table: 'events_critical', column: 'toDateTime(timestamp)', days: config.critical_days },
    { table: 'events_quarantine', column: 'toDateTime(quarantined_at)', days: config.quarantine_days },
  ]
}

/** Reads the TTL in days from a table's CREATE statement, which ClickHouse prints as `toIntervalDay(N)`. */
export function parseTtlDays(createTableQuery: string): number | undefined {
  const match = /\bTTL\b[^\n]*?toIntervalDay\((\d+)\)/.exec(createTableQuery)
  return match === null ? undefined : Number(match[1])
}

/**
 * Brings each table's TTL to the configured retention with MODIFY TTL, so a
 * changed value also reaches tables created before it. Tables whose TTL
 * already matches are left alone, since MODIFY TTL rewrites TTL information
 * of every part.
 */
export async function applyRetention(
  client: ClickHouseClient,
  database: string,
  config: RetentionConfig,
  logger: Logger,
): Promise<string[]> {
  const changed: string[] = []
  for (const target of retentionTargets(config)) {
    const result = await client.query({
      query: 'SELECT create_table_query FROM system.tables WHERE database = {database:String} AND name = {table:String}',
      query_params: { database, table: target.table },
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ create_table_query: string }>()
    const current = rows[0] === undefined ? undefined : parseTtlDays(rows[0].create_table_query)
    if (current === target.days) continue
    await client.command({
      query: `ALTER TABLE ${target.table} MODIFY TTL ${target.column} + INTERVAL ${target.days} DAY DELETE`,
    })
    logger.info({ table: target.table, from_days: current ?? null, to_days: target.days }, 'retention changed')
    changed.push(target.table)
  }
  return changed
}
