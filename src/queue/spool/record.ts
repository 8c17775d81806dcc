import { crc32 } from 'node:zlib'
import type { QueueItem } from '../../schema/event.js'
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
  /** Items of one enqueue: f64 first seq, f64 enqueue time (ms since epoch), u32 count, JSON array. */
  data: 1,
  /** A batch handed to the writer: f64 first seq, f64 last seq, u32 item count, UTF-8 batch id. */
  seal: 2,
  /** A batch stored in ClickHouse: UTF-8 batch id. */
  commit: 3,
} as const

export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType]

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

const EVENTS_ITEM_HEAD = '{"table":"events","row":'
const QUARANTINE_ITEM_HEAD = '{"table":"quarantine","row":'

/**
 * Returns the byte size of the items as a JSON array, the same text
 * JSON.stringify(items) gives, and a function that writes that text. A row
 * a worker prepared is copied as bytes, and other rows are written from
 * their cached JSON.
 */
function itemsBytes(items: readonly QueueItem[]): { bytes: number; write(target: Buffer): void } {
  const texts: Array<string | undefined> = new Array(items.length)
  // Brackets, commas and each item's closing brace.
  let bytes = 2 + Math.max(0, items.length - 1) + items.length
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as QueueItem
    bytes += item.table === 'events' ? EVENTS_ITEM_HEAD.length : QUARANTINE_ITEM_HEAD.length
    if (item.row instanceof SerializedEventRow) {
      bytes += item.row.jsonBytes
    } else {
      const text = rowJson(item.row)
      texts[index] = text
      bytes += Buffer.byteLength(text)
    }
  }
  return {
    bytes,
    write(target) {
      let offset = target.write('[', 0, 'latin1')
      for (let index = 0; index < items.length; index++) {
        const item = items[index] as QueueItem
        if (index > 0) offset += target.write(',', offset, 'latin1')
        offset += target.write(item.table === 'events' ? EVENTS_ITEM_HEAD : QUARANTINE_ITEM_HEAD, offset, 'latin1')
        const text = texts[index]
        if (text === undefined) {
          const row = item.row as SerializedEventRow
          offset += row.line.copy(target, offset, 0, row.jsonBytes)
        } else {
          offset += target.write(text, offset, 'utf8')
        }
        offset += target.write('}', offset, 'latin1')
      }
      target.write(']', offset, 'latin1')
    },
  }
}

export function encodeDataRecord(header: DataHeader, items: readonly QueueItem[]): Buffer {
  const body = itemsBytes(items)
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

export function decodeDataItems(payload: Buffer): QueueItem[] {
  return JSON.parse(payload.toString('utf8', DATA_HEAD_BYTES)) as QueueItem[]
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
  if (type === RecordType.data) return DATA_HEAD_BYTES + 2
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
