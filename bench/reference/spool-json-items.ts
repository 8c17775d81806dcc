import type { QueueItem } from '../../src/schema/event.js'
import { rowJson } from '../../src/schema/row-json.js'

/**
 * Encodes the items of a spool data record as versions before the framed
 * items did: one JSON array, which `decodeJsonItems` reads back with
 * JSON.parse into row objects. Both are kept to time against
 * `encodeDataRecord` and `decodeDataItems` (`bench/spool-record-cost.ts`).
 */
export function encodeJsonItems(items: readonly QueueItem[]): Buffer {
  return Buffer.from(`[${items.map((item) => `{"table":"${item.table}","row":${rowJson(item.row)}}`).join(',')}]`)
}

export function decodeJsonItems(bytes: Buffer): QueueItem[] {
  return JSON.parse(bytes.toString('utf8')) as QueueItem[]
}
