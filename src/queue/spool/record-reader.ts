import type { SpoolFile } from './files.js'
import { parseRecords, type ParsedEntry } from './record-parser.js'

/** Bytes read from a segment at a time; grown while one record does not fit. */
const READ_CHUNK_BYTES = 1024 * 1024

/**
 * Reads the records of `file` between `start` and `end` in order and calls
 * `onEntry` for each record and each damaged range. `onEntry` returns false
 * to stop early. Returns the offset reading stopped at.
 */
export async function readRecords(
  file: SpoolFile,
  start: number,
  end: number,
  onEntry: (entry: ParsedEntry) => boolean | void,
): Promise<number> {
  let position = start
  let chunk = READ_CHUNK_BYTES
  while (position < end) {
    const length = Math.min(chunk, end - position)
    const buffer = Buffer.allocUnsafe(length)
    const bytesRead = await file.read(buffer, position)
    const atFileEnd = bytesRead < length || position + length >= end
    const { entries, consumed } = parseRecords(buffer.subarray(0, bytesRead), position, atFileEnd)
    for (const entry of entries) {
      if (onEntry(entry) === false) return entry.offset + entry.length
    }
    if (atFileEnd && consumed >= bytesRead) return position + bytesRead
    if (consumed === 0) {
      chunk *= 2
      continue
    }
    position += consumed
    chunk = READ_CHUNK_BYTES
  }
  return position
}
