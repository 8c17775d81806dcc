import { crc32 } from 'node:zlib'
import type { QuarantineRow, QueueItem } from '../../schema/event.js'
import { rowJson } from '../../schema/row-json.js'
import { SerializedEventRow } from '../../schema/serialized-row.js'

/**
 * Framing of one spool record:
 *
 *   offset 0  u16 magic 0x5153 ("SQ" in the file)
 *   offset 2  u8  record type (RecordType)
 *   offset 3  u8  reserved, 0
 *   offset 4  u32 payload length in bytes
 *   offset 8  u32 CRC-32 of bytes 0..8 followed by the payload
 *   offset 12 payload
 *
 * Integers are little-endian. The CRC covers the length too, so a flipped
 * length bit is caught instead of sending the reader to a wrong offset, and
 * the magic lets the reader find the next record after a damaged one.
 */
export const RECORD_MAGIC = 0x5153
export const RECORD_HEADER_BYTES = 12

/** Largest payload the reader accepts; a larger length is taken as damage. */
export const MAX_RECORD_PAYLOAD_BYTES = 512 * 1024 * 1024

export const RecordType = {
  /**
   * Items of one enqueue as a JSON array, after the head of a `data` record.
   * Versions before the framed items wrote these; they are still read.
   */
  jsonData: 1,
  /** A batch handed to the writer: f64 first seq, f64 last seq, u32 item count, UTF-8 batch id. */
  seal: 2,
  /** A batch stored in ClickHouse: UTF-8 batch id. */
  commit: 3,
  /** Items of one enqueue: f64 first seq, f64 enqueue time (ms since epoch), u32 count, then the items in the layout `encodeItems` describes. */
  data: 4,
} as const

export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType]

/** Returns true for a record that contains enqueued items, in either layout. */
export function isDataRecord(type: RecordTypeCode): boolean {
  return type === RecordType.data || type === RecordType.jsonData
}

const DATA_HEAD_BYTES = 20
const SEAL_HEAD_BYTES = 20

export interface DataHeader {
  firstSeq: number
  enqueuedAt: number
  count: number
}

export interface SealRecord {
  id: string
  firstSeq: number
  lastSeq: number
  count: number
}

/** Allocates a framed record with room for a fixed head of `headBytes` and a body of `bodyBytes`, both for the caller to fill before `seal`. */
function frame(type: RecordTypeCode, headBytes: number, bodyBytes: number): { buffer: Buffer; head: Buffer; body: Buffer } {
  const payloadBytes = headBytes + bodyBytes
  const buffer = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes)
  buffer.writeUInt16LE(RECORD_MAGIC, 0)
  buffer.writeUInt8(type, 2)
  buffer.writeUInt8(0, 3)
  buffer.writeUInt32LE(payloadBytes, 4)
  const head = buffer.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + headBytes)
  const body = buffer.subarray(RECORD_HEADER_BYTES + headBytes)
  return { buffer, head, body }
}

function frameText(type: RecordTypeCode, headBytes: number, text: string): { buffer: Buffer; head: Buffer } {
  const framed = frame(type, headBytes, Buffer.byteLength(text))
  framed.body.write(text, 'utf8')
  return framed
}

function seal(buffer: Buffer): Buffer {
  let crc = crc32(buffer.subarray(0, 8))
  crc = crc32(buffer.subarray(RECORD_HEADER_BYTES), crc)
  buffer.writeUInt32LE(crc, 8)
  return buffer
}

/**
 * Layout of the items of a `data` record, after its head: first one entry
 * an item,
 *
 *   offset 0  u8  table: 1 for `events`, 2 for `quarantine`
 *   offset 1  u16 byte length of the event id (0 for quarantine)
 *   offset 3  u32 byte length of the item's text
 *   offset 7  the event id in UTF-8
 *
 * then the texts of all items, in the same order. The text of an `events`
 * row is its JSONEachRow line, newline included, and a quarantine row's is
 * its JSON. Read back, each row is a view of its line, as a preparation
 * worker sends it, so the backlog and replay hand rows to the writer
 * without parsing or serializing them again. The lines of a record follow
 * each other, so the writer copies them into an insert in one run.
 */
const ITEM_HEAD_BYTES = 7
const ITEM_EVENTS = 1
const ITEM_QUARANTINE = 2
const NEWLINE = 0x0a

/** Largest event id the layout can hold; ids are UUIDs, far below it. */
const MAX_EVENT_ID_BYTES = 0xffff

interface ItemText {
  /** JSON of a row that is not already a line, serialized once for the size and the write. */
  json: string | undefined
  idBytes: number
  textBytes: number
}

/** Returns the byte size of the items and a function that writes them. */
function encodeItems(items: readonly QueueItem[]): { bytes: number; write(target: Buffer): void } {
  const texts: ItemText[] = new Array(items.length)
  let directoryBytes = 0
  let textBytes = 0
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as QueueItem
    let text: ItemText
    if (item.table === 'quarantine') {
      const json = rowJson(item.row)
      text = { json, idBytes: 0, textBytes: Buffer.byteLength(json) }
    } else {
      const idBytes = Buffer.byteLength(item.row.event_id)
      if (idBytes > MAX_EVENT_ID_BYTES) throw new RangeError(`event id of ${idBytes} bytes is longer than a spool record can hold`)
      if (item.row instanceof SerializedEventRow) {
        text = { json: undefined, idBytes, textBytes: item.row.line.length }
      } else {
        const json = rowJson(item.row)
        text = { json, idBytes, textBytes: Buffer.byteLength(json) + 1 }
      }
    }
    texts[index] = text
    directoryBytes += ITEM_HEAD_BYTES + text.idBytes
    textBytes += text.textBytes
  }
  return {
    bytes: directoryBytes + textBytes,
    write(target) {
      let entry = 0
      let offset = directoryBytes
      for (let index = 0; index < items.length; index++) {
        const item = items[index] as QueueItem
        const text = texts[index] as ItemText
        target[entry] = item.table === 'events' ? ITEM_EVENTS : ITEM_QUARANTINE
        target.writeUInt16LE(text.idBytes, entry + 1)
        target.writeUInt32LE(text.textBytes, entry + 3)
        entry += ITEM_HEAD_BYTES
        if (item.table === 'events') entry += target.write(item.row.event_id, entry, 'utf8')
        if (text.json === undefined) {
          offset += (item.row as SerializedEventRow).line.copy(target, offset)
        } else {
          offset += target.write(text.json, offset, 'utf8')
          if (item.table === 'events') target[offset++] = NEWLINE
        }
      }
    },
  }
}

export function encodeDataRecord(header: DataHeader, items: readonly QueueItem[]): Buffer {
  const body = encodeItems(items)
  const { buffer, head, body: target } = frame(RecordType.data, DATA_HEAD_BYTES, body.bytes)
  body.write(target)
  head.writeDoubleLE(header.firstSeq, 0)
  head.writeDoubleLE(header.enqueuedAt, 8)
  head.writeUInt32LE(header.count, 16)
  return seal(buffer)
}

export function encodeSealRecord(record: SealRecord): Buffer {
  const { buffer, head } = frameText(RecordType.seal, SEAL_HEAD_BYTES, record.id)
  head.writeDoubleLE(record.firstSeq, 0)
  head.writeDoubleLE(record.lastSeq, 8)
  head.writeUInt32LE(record.count, 16)
  return seal(buffer)
}

export function encodeCommitRecord(batchId: string): Buffer {
  return seal(frameText(RecordType.commit, 0, batchId).buffer)
}

/** Reads the fixed part of a data payload without parsing its items. */
export function decodeDataHeader(payload: Buffer): DataHeader {
  return {
    firstSeq: payload.readDoubleLE(0),
    enqueuedAt: payload.readDoubleLE(8),
    count: payload.readUInt32LE(16),
  }
}

/**
 * Reads the items of a data record of either layout. An `events` row of a
 * record with framed items is a view of `payload`, which it keeps alive.
 */
export function decodeDataItems(payload: Buffer, type: RecordTypeCode): QueueItem[] {
  if (type === RecordType.jsonData) return JSON.parse(payload.toString('utf8', DATA_HEAD_BYTES)) as QueueItem[]
  const count = payload.readUInt32LE(16)
  const items: QueueItem[] = new Array(count)
  // The texts start where the last entry of the directory ends.
  let textStart = DATA_HEAD_BYTES
  for (let index = 0; index < count; index++) {
    if (textStart + ITEM_HEAD_BYTES > payload.length) throw new SpoolRecordError(`entry ${index} of ${count} starts past the record's end`)
    textStart += ITEM_HEAD_BYTES + payload.readUInt16LE(textStart + 1)
  }
  let entry = DATA_HEAD_BYTES
  for (let index = 0; index < count; index++) {
    const table = payload[entry]
    const idStart = entry + ITEM_HEAD_BYTES
    entry = idStart + payload.readUInt16LE(entry + 1)
    const end = textStart + payload.readUInt32LE(idStart - 4)
    if (end > payload.length) throw new SpoolRecordError(`item ${index} of ${count} ends past the record's end`)
    if (table === ITEM_EVENTS) {
      if (end === textStart || payload[end - 1] !== NEWLINE) throw new SpoolRecordError(`item ${index} of ${count} is not a line`)
      items[index] = { table: 'events', row: new SerializedEventRow(payload.subarray(textStart, end), payload.toString('utf8', idStart, entry)) }
    } else if (table === ITEM_QUARANTINE) {
      items[index] = { table: 'quarantine', row: JSON.parse(payload.toString('utf8', textStart, end)) as QuarantineRow }
    } else {
      throw new SpoolRecordError(`item ${index} of ${count} has unknown table code ${String(table)}`)
    }
    textStart = end
  }
  if (textStart !== payload.length) throw new SpoolRecordError(`${payload.length - textStart} bytes follow the last item`)
  return items
}

/** Error for a data record whose checksum matched but whose items do not add up, as only a faulty writer could produce. */
export class SpoolRecordError extends Error {
  override readonly name = 'SpoolRecordError'
}

export function decodeSealRecord(payload: Buffer): SealRecord {
  return {
    firstSeq: payload.readDoubleLE(0),
    lastSeq: payload.readDoubleLE(8),
    count: payload.readUInt32LE(16),
    id: payload.toString('utf8', SEAL_HEAD_BYTES),
  }
}

export function decodeCommitRecord(payload: Buffer): string {
  return payload.toString('utf8')
}

/** Payload sizes below which a record of that type cannot be valid. */
export function minimumPayloadBytes(type: number): number {
  if (type === RecordType.data) return DATA_HEAD_BYTES + ITEM_HEAD_BYTES
  if (type === RecordType.jsonData) return DATA_HEAD_BYTES + 2
  if (type === RecordType.seal) return SEAL_HEAD_BYTES + 1
  if (type === RecordType.commit) return 1
  return -1
}

/** True when `buffer[offset..]` holds a whole record whose header and CRC check out. */
export function recordCrcMatches(buffer: Buffer, offset: number, payloadBytes: number): boolean {
  const end = offset + RECORD_HEADER_BYTES + payloadBytes
  let crc = crc32(buffer.subarray(offset, offset + 8))
  crc = crc32(buffer.subarray(offset + RECORD_HEADER_BYTES, end), crc)
  return crc === buffer.readUInt32LE(offset + 8)
}
