import { crc32 } from 'node:zlib'
import type { QuarantineRow, QueueItem } from '../../schema/event.js'
import { rowJson } from '../../schema/row-json.js'
import { lineStartsWithId, SerializedEventRow } from '../../schema/serialized-row.js'

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
  /** Items of one enqueue: f64 first seq, f64 enqueue time (ms since epoch), u32 count, then the items in the layout described at `ITEM_HEAD_BYTES`. */
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
  writeRecordHeader(buffer, type, payloadBytes)
  const head = buffer.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + headBytes)
  const body = buffer.subarray(RECORD_HEADER_BYTES + headBytes)
  return { buffer, head, body }
}

/** Writes the magic, the type and the payload length; the CRC is written last, by `seal` or its equivalent. */
function writeRecordHeader(buffer: Buffer, type: RecordTypeCode, payloadBytes: number): void {
  buffer.writeUInt16LE(RECORD_MAGIC, 0)
  buffer.writeUInt8(type, 2)
  buffer.writeUInt8(0, 3)
  buffer.writeUInt32LE(payloadBytes, 4)
}

function frameText(type: RecordTypeCode, headBytes: number, text: string): { buffer: Buffer; head: Buffer } {
  const framed = frame(type, headBytes, Buffer.byteLength(text))
  framed.body.write(text, 'utf8')
  return framed
}

function seal(buffer: Buffer): Buffer {
  sealParts([buffer])
  return buffer
}

/** Writes the CRC of a record made of `parts` into the header at the start of the first part. */
function sealParts(parts: readonly Buffer[]): void {
  const first = parts[0] as Buffer
  let crc = crc32(first.subarray(0, 8))
  crc = crc32(first.subarray(RECORD_HEADER_BYTES), crc)
  for (let index = 1; index < parts.length; index++) crc = crc32(parts[index] as Buffer, crc)
  first.writeUInt32LE(crc, 8)
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

/**
 * A record as the buffers that make it up, in order, for one vectored
 * write. The texts of `events` rows are views of their lines, not copies.
 */
export interface EncodedRecord {
  parts: Buffer[]
  length: number
}

/**
 * Encodes the items of one enqueue. The record's own buffer has the
 * framing, the head and the directory. The lines of the rows follow as
 * views of the buffers they are in, one view a run of adjacent lines, and
 * rows that are not lines yet are serialized.
 */
export function encodeDataRecord(header: DataHeader, items: readonly QueueItem[]): EncodedRecord {
  const jsons: Array<string | undefined> = new Array(items.length)
  const idBytes = new Uint16Array(items.length)
  const textLengths = new Uint32Array(items.length)
  let directoryBytes = 0
  let textBytes = 0
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as QueueItem
    if (item.table === 'events') {
      const bytes = item.row instanceof SerializedEventRow ? item.row.eventIdBytes : Buffer.byteLength(item.row.event_id)
      if (bytes > MAX_EVENT_ID_BYTES) throw new RangeError(`event id of ${bytes} bytes is longer than a spool record can hold`)
      idBytes[index] = bytes
    }
    directoryBytes += ITEM_HEAD_BYTES + (idBytes[index] as number)
    if (item.row instanceof SerializedEventRow) {
      textLengths[index] = item.row.end - item.row.start
    } else {
      const json = rowJson(item.row)
      jsons[index] = json
      textLengths[index] = Buffer.byteLength(json) + (item.table === 'events' ? 1 : 0)
    }
    textBytes += textLengths[index] as number
  }
  const headBytes = RECORD_HEADER_BYTES + DATA_HEAD_BYTES + directoryBytes
  const first = Buffer.allocUnsafe(headBytes)
  writeRecordHeader(first, RecordType.data, DATA_HEAD_BYTES + directoryBytes + textBytes)
  let entry = RECORD_HEADER_BYTES
  entry = first.writeDoubleLE(header.firstSeq, entry)
  entry = first.writeDoubleLE(header.enqueuedAt, entry)
  entry = first.writeUInt32LE(header.count, entry)
  const parts = [first]
  const texts = new TextRuns(parts)
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as QueueItem
    const json = jsons[index]
    first[entry] = item.table === 'events' ? ITEM_EVENTS : ITEM_QUARANTINE
    first.writeUInt16LE(idBytes[index] as number, entry + 1)
    first.writeUInt32LE(textLengths[index] as number, entry + 3)
    const row = item.row
    if (row instanceof SerializedEventRow) texts.addLine(row.bytes, row.start, row.end)
    else texts.addText(item.table === 'events' ? `${json as string}\n` : (json as string))
    entry += ITEM_HEAD_BYTES
    if (row instanceof SerializedEventRow) entry += row.writeEventId(first, entry)
    else if (item.table === 'events') entry += first.write(item.row.event_id, entry, 'utf8')
  }
  texts.finish()
  sealParts(parts)
  return { parts, length: headBytes + textBytes }
}

/** Collects the texts of a record into `parts`: runs of adjacent lines as views, other texts as one buffer a stretch. */
class TextRuns {
  readonly #parts: Buffer[]
  #run: ArrayBufferLike | undefined
  #runStart = 0
  #runEnd = 0
  #text = ''

  constructor(parts: Buffer[]) {
    this.#parts = parts
  }

  /** Adds the line from `start` to `end` of `bytes`. */
  addLine(bytes: Buffer, start: number, end: number): void {
    this.#flushText()
    const from = bytes.byteOffset + start
    if (bytes.buffer === this.#run && from === this.#runEnd) {
      this.#runEnd += end - start
      return
    }
    this.#flushRun()
    this.#run = bytes.buffer
    this.#runStart = from
    this.#runEnd = from + end - start
  }

  addText(text: string): void {
    this.#flushRun()
    this.#text += text
  }

  finish(): void {
    this.#flushRun()
    this.#flushText()
  }

  #flushRun(): void {
    if (this.#run === undefined) return
    this.#parts.push(Buffer.from(this.#run, this.#runStart, this.#runEnd - this.#runStart))
    this.#run = undefined
  }

  #flushText(): void {
    if (this.#text === '') return
    this.#parts.push(Buffer.from(this.#text, 'utf8'))
    this.#text = ''
  }
}

export function encodeSealRecord(record: SealRecord): EncodedRecord {
  const { buffer, head } = frameText(RecordType.seal, SEAL_HEAD_BYTES, record.id)
  head.writeDoubleLE(record.firstSeq, 0)
  head.writeDoubleLE(record.lastSeq, 8)
  head.writeUInt32LE(record.count, 16)
  return { parts: [seal(buffer)], length: buffer.length }
}

export function encodeCommitRecord(batchId: string): EncodedRecord {
  const buffer = seal(frameText(RecordType.commit, 0, batchId).buffer)
  return { parts: [buffer], length: buffer.length }
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
    const end = textStart + payload.readUInt32LE(entry + 3)
    entry = idStart + payload.readUInt16LE(entry + 1)
    if (end > payload.length) throw new SpoolRecordError(`item ${index} of ${count} ends past the record's end`)
    if (table === ITEM_EVENTS) {
      if (end === textStart || payload[end - 1] !== NEWLINE) throw new SpoolRecordError(`item ${index} of ${count} is not a line`)
      const eventId = lineStartsWithId(payload, textStart, end, idStart, entry) ? undefined : payload.toString('utf8', idStart, entry)
      items[index] = { table: 'events', row: new SerializedEventRow(payload, textStart, end, eventId) }
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
