import type { ClickHouseClient } from '@clickhouse/client'
import type { AcceptedEventId } from '../schema/event.js'

/**
 * Reads the ids that senders chose of the newest `limit` events received
 * at or after `since` (ms since the epoch) from `events`, oldest first, so
 * that a restarted server can rebuild its re-send window. `received_at` is
 * the time the server accepted the event, by the server's clock, so `since`
 * comes from the same clock and not from ClickHouse's `now()`.
 *
 * The skip index on `received_at` (migration 005) lets ClickHouse read
 * only the parts inserted recently instead of the whole column.
 */
export async function loadRecentEventIds(client: ClickHouseClient, since: number, limit: number): Promise<AcceptedEventId[]> {
  if (limit <= 0) return []
  const result = await client.query({
    query: `SELECT tenant_id, toString(event_id), toUnixTimestamp64Milli(received_at)
      FROM events
      WHERE received_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND id_from_sender
      ORDER BY received_at DESC
      LIMIT {limit:UInt64}`,
    query_params: { since: Math.floor(since), limit: Math.floor(limit) },
    format: 'JSONCompactEachRow',
  })
  const rows = await result.json<[string, string, string | number]>()
  const ids: AcceptedEventId[] = new Array(rows.length)
  for (let index = 0; index < rows.length; index++) {
    const [tenantId, eventId, acceptedAt] = rows[rows.length - 1 - index] as [string, string, string | number]
    ids[index] = { tenantId, eventId, acceptedAt: Number(acceptedAt) }
  }
  return ids
}
