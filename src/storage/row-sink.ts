import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'
import { rowJson } from '../schema/row-json.js'

export type TargetTable = 'events' | 'events_quarantine'

/** The one thing the batch writer needs from ClickHouse. */
export interface RowSink {
  /**
   * Inserts rows in one INSERT; `token` makes a repeated insert of the same
   * rows a no-op. Aborting `signal` fails the insert at once.
   */
  insert(table: TargetTable, rows: readonly object[], token: string, signal?: AbortSignal): Promise<void>
}

/** Settings of every batch insert: deduplicate retries, in the table and in its materialized views. */
const INSERT_SETTINGS = {
  deduplicate_blocks_in_dependent_materialized_views: 1,
  async_insert: 0,
} as const

export class ClickHouseRowSink implements RowSink {
  readonly #client: ClickHouseClient

  constructor(client: ClickHouseClient) {
    this.#client = client
  }

  async insert(table: TargetTable, rows: readonly object[], token: string, signal?: AbortSignal): Promise<void> {
    await this.#client.insert({
      table,
      values: rows as object[],
      format: 'JSONEachRow',
      clickhouse_settings: { ...INSERT_SETTINGS, insert_deduplication_token: token },
      ...(signal === undefined ? {} : { abort_signal: signal }),
    })
  }
}
