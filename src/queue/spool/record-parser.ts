import {
  MAX_RECORD_PAYLOAD_BYTES,
  RECORD_HEADER_BYTES,
  RECORD_MAGIC,
  minimumPayloadBytes,
  recordCrcMatches,
  type RecordTypeCode,
} from './record.js'

/** A record whose header and CRC check out; `offset` is its position in the file. */
export interface ParsedRecord {
  kind: 'record'
  type: RecordTypeCode
  payload: Buffer
  offset: number
  length: number
}

/** Bytes between two valid records (or up to the end of the file) that form no valid record. */
export interface DamagedRange {
  kind: 'damaged'
  offset: number
  length: number
  reason: string
}

export type ParsedEntry = ParsedRecord | DamagedRange

export interface ParseResult {
  entries: ParsedEntry[]
  /** Bytes of the buffer accounted for by `entries`; the rest needs more data to decide. */
  consumed: number
}

type Check = { status: 'ok'; length: number } | { status: 'incomplete' } | { status: 'bad'; reason: string }

const MAGIC_LOW = RECORD_MAGIC & 0xff
const MAGIC_HIGH = RECORD_MAGIC >> 8

function checkRecordAt(buffer: Buffer, offset: number): Check {
  const remaining = buffer.length - offset
  if (remaining < RECORD_HEADER_BYTES) return { status: 'incomplete' }
  if (buffer.readUInt16LE(offset) !== RECORD_MAGIC) return { status: 'bad', reason: 'bad record magic' }
  const type = buffer.readUInt8(offset + 2)
  const minimum = minimumPayloadBytes(type)
  if (minimum < 0) return { status: 'bad', reason: `unknown record type ${type}` }
  const payloadBytes = buffer.readUInt32LE(offset + 4)
  if (payloadBytes < minimum || payloadBytes > MAX_RECORD_PAYLOAD_BYTES) {
    return { status: 'bad', reason: `invalid payload length ${payloadBytes}` }
  }
  if (remaining < RECORD_HEADER_BYTES + payloadBytes) return { status: 'incomplete' }
  if (!recordCrcMatches(buffer, offset, payloadBytes)) return { status: 'bad', reason: 'checksum mismatch' }
  return { status: 'ok', length: RECORD_HEADER_BYTES + payloadBytes }
}

/**
 * Finds the next offset at or after `from` where a valid record starts.
 * Returns -1 when none does before the end of the file, or null when the
 * buffer ends before that can be decided.
 */
function findNextRecord(buffer: Buffer, from: number, atFileEnd: boolean): number | null {
  for (let offset = from; offset + 1 < buffer.length; offset++) {
    if (buffer[offset] !== MAGIC_LOW || buffer[offset + 1] !== MAGIC_HIGH) continue
    const check = checkRecordAt(buffer, offset)
    if (check.status === 'ok') return offset
    if (check.status === 'incomplete' && !atFileEnd) return null
  }
  return atFileEnd ? -1 : null
}

/**
 * Splits `buffer`, read from file offset `fileOffset`, into valid records and
 * damaged ranges. A record cut off by the end of the buffer is left
 * unconsumed unless `atFileEnd`, in which case it is a damaged (torn) tail.
 */
export function parseRecords(buffer: Buffer, fileOffset: number, atFileEnd: boolean): ParseResult {
  const entries: ParsedEntry[] = []
  let offset = 0
  while (offset < buffer.length) {
    const check = checkRecordAt(buffer, offset)
    if (check.status === 'ok') {
      entries.push({
        kind: 'record',
        type: buffer.readUInt8(offset + 2) as RecordTypeCode,
        payload: buffer.subarray(offset + RECORD_HEADER_BYTES, offset + check.length),
        offset: fileOffset + offset,
        length: check.length,
      })
      offset += check.length
      continue
    }
    if (check.status === 'incomplete' && !atFileEnd) break
    const reason = check.status === 'bad' ? check.reason : 'record cut off by the end of the file'
    const next = findNextRecord(buffer, offset + 1, atFileEnd)
    if (next === null) break
    const end = next === -1 ? buffer.length : next
    entries.push({ kind: 'damaged', offset: fileOffset + offset, length: end - offset, reason })
    offset = end
  }
  return { entries, consumed: offset }
}
