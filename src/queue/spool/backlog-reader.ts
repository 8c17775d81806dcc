import type { Logger } from '../../logger.js'
import { estimateItemBytes } from '../types.js'
import { reportDamage } from './damage.js'
import { SEGMENT_HEADER, type SpoolFileSystem } from './files.js'
import { decodeDataHeader, decodeDataItems, isDataRecord } from './record.js'
import { readRecords } from './record-reader.js'
import type { Segment } from './segment-log.js'
import type { Backlog, LogPosition, ResidentItem } from './state.js'

export interface BacklogRead {
  items: ResidentItem[]
  /** Where the next read starts; equal to the backlog's end when everything was read. */
  cursor: LogPosition
  /** Enqueue time of the first record not read, when reading stopped early. */
  nextEnqueuedAt: number
}

export interface BacklogReadOptions {
  files: SpoolFileSystem
  logger: Logger
  countDamaged(): void
}

/**
 * Reads backlog events from disk, record by record from `backlog.cursor`,
 * until `roomEvents` or `roomBytes` is used up or the backlog's end is
 * reached. A record is read whole, so the room can be overshot by one record.
 */
export async function readBacklog(
  segments: readonly Segment[],
  backlog: Backlog,
  roomEvents: number,
  roomBytes: number,
  options: BacklogReadOptions,
): Promise<BacklogRead> {
  const items: ResidentItem[] = []
  const end = backlog.end
  let cursor = backlog.cursor
  let nextEnqueuedAt = backlog.firstEnqueuedAt
  let bytes = 0
  if (!segments.includes(cursor.segment)) {
    // The cursor sat at the end of a segment that was deleted once all of it
    // was committed; reading goes on at the next segment.
    const next = segmentAfter(segments, cursor.segment)
    if (next === undefined) return { items, cursor, nextEnqueuedAt }
    cursor = { segment: next, offset: SEGMENT_HEADER.length }
  }
  for (;;) {
    const segment = cursor.segment
    const stop = segment === end.segment ? end.offset : segment.size
    const file = await options.files.openExisting(segment.path)
    let full = false
    try {
      const reached = await readRecords(file, cursor.offset, stop, (entry) => {
        if (entry.kind === 'damaged') {
          options.countDamaged()
          reportDamage(options.logger, segment.path, entry)
          return true
        }
        if (!isDataRecord(entry.type)) return true
        const header = decodeDataHeader(entry.payload)
        if (items.length >= roomEvents || bytes >= roomBytes) {
          full = true
          nextEnqueuedAt = header.enqueuedAt
          cursor = { segment, offset: entry.offset }
          return false
        }
        for (const [i, item] of decodeDataItems(entry.payload, entry.type).entries()) {
          const seq = header.firstSeq + i
          if (seq < backlog.fromSeq) continue
          const resident = { seq, item, enqueuedAt: header.enqueuedAt, bytes: estimateItemBytes(item) }
          bytes += resident.bytes
          items.push(resident)
        }
        return true
      })
      if (!full) cursor = { segment, offset: reached }
    } finally {
      await file.close()
    }
    if (full || segment === end.segment) break
    // Looked up again after each read: older segments may have been deleted meanwhile.
    const next = segmentAfter(segments, segment)
    if (next === undefined) break
    cursor = { segment: next, offset: SEGMENT_HEADER.length }
  }
  return { items, cursor, nextEnqueuedAt }
}

function segmentAfter(segments: readonly Segment[], segment: Segment): Segment | undefined {
  return segments.find((other) => other.base > segment.base)
}
