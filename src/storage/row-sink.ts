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

  /**
   * Inserts the rows as JSONEachRow text. The text of each row comes from
   * `rowJson`, which the disk spool has usually computed already. The
   * client's `insert` would serialize every row object again, so the text
   * goes as the body of an `exec`.
   */
  async insert(table: TargetTable, rows: readonly object[], token: string, signal?: AbortSignal): Promise<void> {
    // A server rejects an INSERT without rows, so an empty batch sends nothing.
    if (rows.length === 0) return
    signal?.throwIfAborted()
    let text = ''
    for (const row of rows) text += `${rowJson(row)}\n`
    const result = await this.#client.exec({
      query: `INSERT INTO ${table} FORMAT JSONEachRow`,
      // One string chunk: the embedded connection uses it as it is, and HTTP writes it as UTF-8.
      values: Readable.from([text]),
      clickhouse_settings: { ...INSERT_SETTINGS, insert_deduplication_token: token },
      ...(signal === undefined ? {} : { abort_signal: signal }),
    })
    // The response to an INSERT has an empty body. Reading it to the end frees the connection.
    for await (const chunk of result.stream) void chunk
  }
}
