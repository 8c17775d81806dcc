import type { QueueItem } from '../../schema/event.js'
import type { Segment } from './segment-log.js'

/** An event held in memory, with its spool sequence number. */
export interface ResidentItem {
  seq: number
  item: QueueItem
  /** Time it was enqueued, in ms since the epoch (kept across restarts). */
  enqueuedAt: number
  /** Estimated memory cost, from estimateItemBytes. */
  bytes: number
}

/** A batch sealed in the spool and not yet committed. */
export interface OpenBatch {
  id: string
  firstSeq: number
  lastSeq: number
  items: ResidentItem[]
  bytes: number
}

export interface LogPosition {
  segment: Segment
  offset: number
}

/**
 * Events written to the spool but not loaded into memory, because the
 * in-memory bound was reached: every data record from `cursor` up to `end`,
 * skipping events numbered below `fromSeq`.
 */
export interface Backlog {
  cursor: LogPosition
  end: LogPosition
  fromSeq: number
  events: number
  /** Enqueue time of the record at `cursor`, in ms since the epoch. */
  firstEnqueuedAt: number
}
