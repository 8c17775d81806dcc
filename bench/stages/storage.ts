import type { RunContext, RunningServer } from '../context.js'
import { runSql } from '../support/http.js'
import { round } from '../support/stats.js'

export interface TableStorage {
  table: string
  rows: number
  parts: number
  compressed_bytes: number
  uncompressed_bytes: number
  /** Primary key, marks and skip indexes on disk, outside the column data above. */
  index_and_marks_bytes: number
}

export interface ColumnStorage {
  column: string
  compressed_bytes: number
  uncompressed_bytes: number
}

export interface StorageResult {
  json_bytes_received: number
  events_rows: number
  tables: TableStorage[]
  /** JSON received over the `events` table's compressed column data. */
  events_ratio: number
  /** JSON received over everything on disk for it: every table's columns, indexes and marks. */
  total_ratio: number
  compressed_bytes_per_event: number
  largest_columns: ColumnStorage[]
}

interface PartsRow {
  table: string
  rows: string
  parts: string
  compressed: string
  uncompressed: string
  extra: string
}

/** Active parts of every table of the server's database, summed by table. */
export async function readTableStorage(context: RunContext, server: RunningServer): Promise<TableStorage[]> {
  const parts = await runSql<PartsRow>(
    server.http,
    'SELECT table, sum(rows) AS rows, count() AS parts, sum(data_compressed_bytes) AS compressed, ' +
      'sum(data_uncompressed_bytes) AS uncompressed, ' +
      'sum(primary_key_size + marks_bytes + secondary_indices_compressed_bytes + secondary_indices_marks_bytes) AS extra ' +
      "FROM system.parts WHERE active AND database = currentDatabase() AND table != 'schema_migrations' GROUP BY table ORDER BY table",
    context.adminKey,
  )
  return parts.rows.map((row) => ({
    table: row.table,
    rows: Number(row.rows),
    parts: Number(row.parts),
    compressed_bytes: Number(row.compressed),
    uncompressed_bytes: Number(row.uncompressed),
    index_and_marks_bytes: Number(row.extra),
  }))
}

/** Bytes on disk of every table: column data, indexes and marks. */
export function totalStoredBytes(tables: readonly TableStorage[]): number {
  return tables.reduce((sum, table) => sum + table.compressed_bytes + table.index_and_marks_bytes, 0)
}

/** Reads active parts from system.parts and compares their bytes with the JSON the server received. */
export async function measureStorage(context: RunContext, server: RunningServer, jsonBytes: number): Promise<StorageResult> {
  const tables = await readTableStorage(context, server)
  const columns = await runSql<{ name: string; compressed: string; uncompressed: string }>(
    server.http,
    'SELECT name, data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed FROM system.columns ' +
      "WHERE database = currentDatabase() AND table = 'events' ORDER BY data_compressed_bytes DESC LIMIT 8",
    context.adminKey,
  )
  const events = tables.find((table) => table.table === 'events')
  const eventsCompressed = events?.compressed_bytes ?? 0
  const total = totalStoredBytes(tables)
  const result: StorageResult = {
    json_bytes_received: jsonBytes,
    events_rows: events?.rows ?? 0,
    tables,
    events_ratio: round(jsonBytes / eventsCompressed, 2),
    total_ratio: round(jsonBytes / total, 2),
    compressed_bytes_per_event: round(eventsCompressed / (events?.rows ?? 1), 1),
    largest_columns: columns.rows.map((row) => ({
      column: row.name,
      compressed_bytes: Number(row.compressed),
      uncompressed_bytes: Number(row.uncompressed),
    })),
  }
  context.progress(`storage: ${result.events_ratio}x against the JSON received (events table), ${result.total_ratio}x with every table and index`)
  return result
}
