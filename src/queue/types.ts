import type { AcceptedEventId, QueueItem } from '../schema/event.js'
import { SerializedEventRow } from '../schema/serialized-row.js'

/**
 * When an enqueue resolves. `memory`: once the items are in the queue.
 * `durable`: once they are on disk (for a memory queue, the same as
 * `memory`). `committed`: once every item is stored in ClickHouse.
 */
export type AckMode = 'memory' | 'durable' | 'committed'

export const ACK_MODES: readonly AckMode[] = ['memory', 'durable', 'committed']

export type OverflowPolicy = 'reject' | 'drop_oldest' | 'block'

export interface EnqueueOptions {
  ack: AckMode
  /** Request id or listener name, written into the queue's log lines. */
  origin?: string
}

/**
 * A batch handed to the writer. `id` is stable for the same items: it is
 * used as ClickHouse's `insert_deduplication_token`, so a batch that is
 * retried, or replayed after a restart, is stored once.
 */
export interface Batch {
  id: string
  items: QueueItem[]
}

export interface QueueStats {
  /** Items enqueued and not yet committed (including ones being written). */
  depthEvents: number
  depthBytes: number
  capacityEvents: number
  capacityBytes: number
  /** Items removed by the drop_oldest policy since start. */
  dropped: number
}

/** Optional limits of one `take`. */
export interface TakeOptions {
  /**
   * Largest batch when more than `maxItems` wait (default `maxItems`), so a
   * backlog goes out in fewer, larger inserts.
   */
  backlogItems?: number
  /**
   * A partial batch of at least `minItems` items is due once no item has
   * arrived for `afterMs` and its oldest item is `minAgeMs` old, so the end
   * of a burst is written without waiting for `maxWaitMs`. Off when
   * undefined or when `afterMs` is 0.
   */
  idleFlush?: { afterMs: number; minItems: number; minAgeMs: number }
}

/**
 * Returns the time (epoch ms) at which `waiting` items, the oldest enqueued
 * at `oldestAt` and the newest at `newestAt`, form a partial batch that a
 * take with these limits accepts.
 */
export function partialBatchDueAt(oldestAt: number, newestAt: number, waiting: number, maxWaitMs: number, options: TakeOptions | undefined): number {
  const dueAt = oldestAt + maxWaitMs
  const idle = options?.idleFlush
  if (idle === undefined || idle.afterMs <= 0 || waiting < idle.minItems) return dueAt
  return Math.min(dueAt, Math.max(newestAt + idle.afterMs, oldestAt + idle.minAgeMs))
}

/**
 * The queue between ingest and the batch writer. Ingest calls only
 * `enqueue`, and the writer calls `take` and `commit`. A memory queue and
 * the disk spool both implement it.
 *
 * Errors from `enqueue` are SiemErrors. SIEM_ERR_QUEUE_FULL (reject policy),
 * SIEM_ERR_QUEUE_TIMEOUT (block policy timed out), SIEM_ERR_QUEUE_CLOSED,
 * SIEM_ERR_SPOOL_FULL and SIEM_ERR_SPOOL_WRITE (disk spool) carry
 * `retryAfterSeconds`. SIEM_ERR_INGEST_BATCH_TOO_LARGE (a request larger than
 * the whole memory queue) carries none, because retrying cannot succeed.
 */
export interface EventQueue {
  /** Opens the queue. A disk spool replays the events it contains first. Safe to call twice. */
  start(): Promise<void>
  enqueue(items: QueueItem[], options: EnqueueOptions): Promise<void>
  /**
   * Waits for a batch: resolves with up to `maxItems` items once that many are
   * waiting, or once the oldest waiting item is `maxWaitMs` old, or once the
   * input has been idle as `options.idleFlush` sets, or at once when the
   * queue is draining. Resolves with null when the queue is closed and empty,
   * or when `signal` aborts.
   */
  take(maxItems: number, maxWaitMs: number, signal?: AbortSignal, options?: TakeOptions): Promise<Batch | null>
  /** Marks a taken batch as stored in ClickHouse; its items leave the queue. */
  commit(batchId: string): Promise<void>
  /** Starts draining: from now on `take` returns what waits without delay. */
  drain(): void
  stats(): QueueStats
  /**
   * Returns the ids of the `events` rows that `start` found waiting (a disk
   * spool's replay) and that were enqueued within the re-send window given
   * to the queue, oldest first, so that the window can be rebuilt. Only the
   * first call after `start` returns them.
   */
  takeReplayedIds(): AcceptedEventId[]
  /** Stops accepting; items not committed stay where a restart finds them (disk spool) or are lost (memory). */
  close(): Promise<void>
}

/** Approximate memory cost of an item in bytes, used for the byte bound of the queue. */
export function estimateItemBytes(item: QueueItem): number {
  if (item.table === 'events') {
    const row = item.row
    // Reading a column of a serialized row would parse its text, so the size of the text is the measure.
    if (row instanceof SerializedEventRow) return 200 + row.jsonBytes
    return 400 + row.raw.length + row.metadata.length + row.target.length
  }
  return 300 + item.row.raw_event.length
}
