import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * A reader of spool segment files written for the tests from the format
 * alone, so damage can be aimed at known records without the code under
 * test. A segment starts with the 8 bytes `SIEMSPL\x01`; each record is
 *
 *   u16 magic 0x5153, u8 type (4 data, 2 seal, 3 commit; 1 the data of
 *   older versions), u8 0, u32 payload length, u32 CRC-32, payload
 *
 * little-endian. A data payload is f64 first seq, f64 enqueue time,
 * u32 count, then one entry an item (u8 table, 1 for events; u16 id
 * length; u32 text length; the id), then the texts. Type 1 has the queue
 * items as a JSON array instead.
 */
export const SEGMENT_HEADER_BYTES = 8
const RECORD_HEADER_BYTES = 12
const DATA_HEAD_BYTES = 20
const RECORD_TYPES: Record<number, SpoolRecord['type']> = { 1: 'data', 2: 'seal', 3: 'commit', 4: 'data' }

export interface SpoolRecord {
  segment: string
  /** Byte offset of the record in its segment. */
  offset: number
  /** Bytes of the record, header included. */
  length: number
  type: 'data' | 'seal' | 'commit'
  /** Event ids of a data record's items; empty for other types. */
  eventIds: string[]
}

/** Paths of the segment files in `dir`, oldest first. */
export async function listSegments(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => /^segment-\d{16}\.log$/.test(name)).sort()
  return names.map((name) => join(dir, name))
}

/** Reads every record of an undamaged segment. */
export async function readSegment(path: string): Promise<SpoolRecord[]> {
  const buffer = await readFile(path)
  const records: SpoolRecord[] = []
  let offset = SEGMENT_HEADER_BYTES
  while (offset + RECORD_HEADER_BYTES <= buffer.length) {
    if (buffer.readUInt16LE(offset) !== 0x5153) throw new Error(`no record magic at ${path}:${offset}`)
    const code = buffer.readUInt8(offset + 2)
    const length = RECORD_HEADER_BYTES + buffer.readUInt32LE(offset + 4)
    const type = RECORD_TYPES[code]
    if (type === undefined) throw new Error(`unknown record type ${code} at ${path}:${offset}`)
    const payload = buffer.subarray(offset + RECORD_HEADER_BYTES, offset + length)
    let eventIds: string[] = []
    if (code === 1) eventIds = jsonEventIds(payload.subarray(DATA_HEAD_BYTES))
    else if (type === 'data') eventIds = framedEventIds(payload)
    records.push({ segment: path, offset, length, type, eventIds })
    offset += length
  }
  return records
}

function framedEventIds(payload: Buffer): string[] {
  const ids: string[] = []
  let entry = DATA_HEAD_BYTES
  for (let index = payload.readUInt32LE(16); index > 0; index--) {
    const idBytes = payload.readUInt16LE(entry + 1)
    if (payload.readUInt8(entry) === 1) ids.push(payload.toString('utf8', entry + 7, entry + 7 + idBytes))
    entry += 7 + idBytes
  }
  return ids
}

function jsonEventIds(json: Buffer): string[] {
  const items = JSON.parse(json.toString('utf8')) as Array<{ table: string; row: { event_id?: string } }>
  return items.filter((item) => item.table === 'events').map((item) => String(item.row.event_id))
}
