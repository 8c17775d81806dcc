import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'
import { jsonEachRowBody } from './json-lines.js'

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
export function insertSettings(token: string) {
  return {
    deduplicate_blocks_in_dependent_materialized_views: 1,
    async_insert: 0,
    insert_deduplication_token: token,
  } as const
}

export class ClickHouseRowSink implements RowSink {
  readonly #client: ClickHouseClient

  constructor(client: ClickHouseClient) {
    this.#client = client
  }

  /**
   * Inserts the rows as JSONEachRow. The text of each row comes from
   * `rowJson` or from the bytes a preparation worker wrote, and the body
   * goes as one buffer. The client's `insert` would serialize every row
   * object again, so the body goes through `exec`.
   */
  async insert(table: TargetTable, rows: readonly object[], token: string, signal?: AbortSignal): Promise<void> {
    // A server rejects an INSERT without rows, so an empty batch sends nothing.
    if (rows.length === 0) return
    signal?.throwIfAborted()
    const body = jsonEachRowBody(rows)
    const result = await this.#client.exec({
      query: `INSERT INTO ${table} FORMAT JSONEachRow`,
      // One chunk: the embedded connection hands it to the engine as it is, and HTTP writes it as it is.
      values: Readable.from([body]),
      clickhouse_settings: insertSettings(token),
      ...(signal === undefined ? {} : { abort_signal: signal }),
    })
    // The response to an INSERT has an empty body. Reading it to the end frees the connection.
    for await (const chunk of result.stream) void chunk
  }
}
