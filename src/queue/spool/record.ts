import { crc32 } from 'node:zlib'
import type { QueueItem } from '../../schema/event.js'
import { rowJson } from '../../schema/row-json.js'

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

function frame(type: RecordTypeCode, headBytes: number, body: string): { buffer: Buffer; head: Buffer } {
  const bodyBytes = Buffer.byteLength(body)
  const payloadBytes = headBytes + bodyBytes
  const buffer = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes)
  buffer.writeUInt16LE(RECORD_MAGIC, 0)
  buffer.writeUInt8(type, 2)
  buffer.writeUInt8(0, 3)
  buffer.writeUInt32LE(payloadBytes, 4)
  buffer.write(body, RECORD_HEADER_BYTES + headBytes, 'utf8')
  const head = buffer.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + headBytes)
  return { buffer, head }
}

function seal(buffer: Buffer): Buffer {
  let crc = crc32(buffer.subarray(0, 8))
  crc = crc32(buffer.subarray(RECORD_HEADER_BYTES), crc)
  buffer.writeUInt32LE(crc, 8)
  return buffer
}

/** JSON array of the items, the same text JSON.stringify(items) gives, built from each row's cached JSON. */
function itemsJson(items: readonly QueueItem[]): string {
  let text = '['
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as QueueItem
    if (index > 0) text += ','
    text += `{"table":${item.table === 'events' ? '"events"' : '"quarantine"'},"row":${rowJson(item.row)}}`
  }
  return text + ']'
}

export function encodeDataRecord(header: DataHeader, items: readonly QueueItem[]): Buffer {
  const { buffer, head } = frame(RecordType.data, DATA_HEAD_BYTES, itemsJson(items))
  head.writeDoubleLE(header.firstSeq, 0)
  head.writeDoubleLE(header.enqueuedAt, 8)
  head.writeUInt32LE(header.count, 16)
  return seal(buffer)
}

export function encodeSealRecord(record: SealRecord): Buffer {
  const { buffer, head } = frame(RecordType.seal, SEAL_HEAD_BYTES, record.id)
  head.writeDoubleLE(record.firstSeq, 0)
  head.writeDoubleLE(record.lastSeq, 8)
  head.writeUInt32LE(record.count, 16)
  return seal(buffer)
}

export function encodeCommitRecord(batchId: string): Buffer {
  return seal(frame(RecordType.commit, 0, batchId).buffer)
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
