import { randomUUID } from 'node:crypto'
import type { QueueConfig } from '../config/types.js'
import { SiemError } from '../errors.js'
import type { AcceptedEventId, QueueItem } from '../schema/event.js'
import type { Logger } from '../logger.js'
import { estimateItemBytes, partialBatchDueAt, type Batch, type EnqueueOptions, type EventQueue, type QueueStats, type TakeOptions } from './types.js'

interface Entry {
  item: QueueItem
  bytes: number
  enqueuedAt: number
  /** Completion of the enqueue this item came from, for the `committed` ack mode. */
  ticket: Ticket | undefined
}

interface Ticket {
  remaining: number
  resolve: () => void
  /** Fails the enqueue, for items dropped before they were stored. */
  reject: (err: SiemError) => void
}

interface Waiter {
  maxItems: number
  /** Largest batch handed out when more than maxItems wait. */
  backlogItems: number
  /** Age of the oldest waiting item at which this taker accepts a partial batch. */
  maxWaitMs: number
  options: TakeOptions | undefined
  resolve: (batch: Batch | null) => void
  timer: NodeJS.Timeout | undefined
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

interface SpaceWaiter {
  events: number
  bytes: number
  resolve: () => void
}

export interface MemoryQueueOptions {
  config: QueueConfig
  logger: Logger
}

/**
 * A bounded in-memory queue. Items are counted against the bounds from
 * enqueue until their batch is committed, so a batch the writer keeps
 * retrying still holds its place. Nothing survives a restart: the disk spool
 * is the durable implementation of the same interface.
 */
export class MemoryQueue implements EventQueue {
  readonly #config: QueueConfig
  readonly #logger: Logger
  #waiting: Entry[] = []
  #waitingHead = 0
  readonly #inFlight = new Map<string, Entry[]>()
  readonly #takers: Waiter[] = []
  readonly #spaceWaiters: SpaceWaiter[] = []
  #depthEvents = 0
  #depthBytes = 0
  #dropped = 0
  #draining = false
  #closed = false
  #ageTimer: NodeJS.Timeout | undefined

  constructor(options: MemoryQueueOptions) {
    this.#config = options.config
    this.#logger = options.logger
  }

  async start(): Promise<void> {}

  async enqueue(items: QueueItem[], options: EnqueueOptions): Promise<void> {
    if (this.#closed || this.#draining) {
      throw new SiemError('SIEM_ERR_QUEUE_CLOSED', 'the queue is shutting down and accepts no new events', {
        retryAfterSeconds: this.#retryAfterSeconds(),
      })
    }
    if (items.length === 0) return
    const sizes = items.map(estimateItemBytes)
    const bytes = sizes.reduce((sum, size) => sum + size, 0)
    // Re-checked after each wait, since another enqueue may take the room
    // between the wake-up and this continuation.
    for (let waiting = this.#makeRoom(items.length, bytes, options); waiting !== undefined; ) {
      await waiting
      waiting = this.#makeRoom(items.length, bytes, options)
    }

    let ticket: Ticket | undefined
    let committed: Promise<void> | undefined
    if (options.ack === 'committed') {
      committed = new Promise<void>((resolve, reject) => {
        ticket = { remaining: items.length, resolve, reject }
      })
    }
    const now = Date.now()
    for (const [index, item] of items.entries()) {
      this.#waiting.push({ item, bytes: sizes[index] as number, enqueuedAt: now, ticket })
    }
    this.#depthEvents += items.length
    this.#depthBytes += bytes
    this.#serveTakers()
    if (committed !== undefined) await committed
  }

  take(maxItems: number, maxWaitMs: number, signal?: AbortSignal, options?: TakeOptions): Promise<Batch | null> {
    if (signal?.aborted) return Promise.resolve(null)
    return new Promise((resolve) => {
      const backlog = Math.max(maxItems, options?.backlogItems ?? maxItems)
      const waiter: Waiter = { maxItems, backlogItems: backlog, maxWaitMs, options, resolve, timer: undefined, signal, onAbort: undefined }
      if (signal !== undefined) {
        waiter.onAbort = () => this.#removeTaker(waiter, null)
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.#takers.push(waiter)
      this.#serveTakers()
    })
  }

  async commit(batchId: string): Promise<void> {
    const entries = this.#inFlight.get(batchId)
    if (entries === undefined) return
    this.#inFlight.delete(batchId)
    for (const entry of entries) {
      this.#depthEvents--
      this.#depthBytes -= entry.bytes
      if (entry.ticket !== undefined && --entry.ticket.remaining === 0) entry.ticket.resolve()
    }
    this.#wakeSpaceWaiters()
  }

  drain(): void {
    this.#draining = true
    this.#serveTakers()
  }

  stats(): QueueStats {
    return {
      depthEvents: this.#depthEvents,
      depthBytes: this.#depthBytes,
      capacityEvents: this.#config.max_events,
      capacityBytes: this.#config.max_bytes,
      dropped: this.#dropped,
    }
  }

  /** Returns no ids, because a memory queue starts empty. */
  takeReplayedIds(): AcceptedEventId[] {
    return []
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#draining = true
    clearTimeout(this.#ageTimer)
    this.#serveTakers()
    for (const waiter of this.#spaceWaiters.splice(0)) waiter.resolve()
  }

  get #waitingCount(): number {
    return this.#waiting.length - this.#waitingHead
  }

  #retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.#config.retry_after / 1000))
  }

  #fits(events: number, bytes: number): boolean {
    return this.#depthEvents + events <= this.#config.max_events && this.#depthBytes + bytes <= this.#config.max_bytes
  }

  /**
   * Makes room for a request or throws. It returns a promise only when the
   * block policy has to wait. Otherwise the check and the push after it run
   * in one synchronous step, so two enqueues cannot both pass the bounds
   * check before either pushes.
   */
  #makeRoom(events: number, bytes: number, options: EnqueueOptions): Promise<void> | undefined {
    if (events > this.#config.max_events || bytes > this.#config.max_bytes) {
      // Retrying cannot help, so this is a 413 with no Retry-After.
      throw new SiemError(
        'SIEM_ERR_INGEST_BATCH_TOO_LARGE',
        `a request of ${events} events (${bytes} bytes) is larger than the whole queue (queue.max_events, queue.max_bytes); send smaller requests`,
        { value: events },
      )
    }
    if (this.#fits(events, bytes)) return undefined
    switch (this.#config.overflow_policy) {
      case 'reject':
        throw new SiemError('SIEM_ERR_QUEUE_FULL', 'the ingest queue is full; retry later', {
          value: this.#depthEvents,
          retryAfterSeconds: this.#retryAfterSeconds(),
        })
      case 'drop_oldest':
        this.#dropOldest(events, bytes, options)
        return undefined
      case 'block':
        return this.#waitForSpace(events, bytes)
    }
  }

  /** Drops waiting items, oldest first, until the new ones fit; items being written are never dropped. */
  #dropOldest(events: number, bytes: number, options: EnqueueOptions): void {
    let dropped = 0
    while (!this.#fits(events, bytes) && this.#waitingCount > 0) {
      const entry = this.#waiting[this.#waitingHead] as Entry
      this.#waitingHead++
      this.#depthEvents--
      this.#depthBytes -= entry.bytes
      // A committed enqueue must not report success for events that were never stored.
      entry.ticket?.reject(
        new SiemError('SIEM_ERR_QUEUE_FULL', 'events of this request were dropped from the full queue before they were stored; retry later', {
          retryAfterSeconds: this.#retryAfterSeconds(),
        }),
      )
      dropped++
    }
    this.#compact()
    this.#dropped += dropped
    if (dropped > 0) {
      this.#logger.warn({ dropped, dropped_total: this.#dropped, origin: options.origin }, 'queue full: dropped oldest events')
    }
    if (!this.#fits(events, bytes)) {
      throw new SiemError('SIEM_ERR_QUEUE_FULL', 'the ingest queue is full of events being written; retry later', {
        value: this.#depthEvents,
        retryAfterSeconds: this.#retryAfterSeconds(),
      })
    }
  }

  #waitForSpace(events: number, bytes: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: SpaceWaiter = { events, bytes, resolve: () => undefined }
      const timer = setTimeout(() => {
        const index = this.#spaceWaiters.indexOf(waiter)
        if (index !== -1) this.#spaceWaiters.splice(index, 1)
        reject(
          new SiemError('SIEM_ERR_QUEUE_TIMEOUT', `the ingest queue stayed full for ${this.#config.block_timeout} ms; retry later`, {
            value: this.#config.block_timeout,
            retryAfterSeconds: this.#retryAfterSeconds(),
          }),
        )
      }, this.#config.block_timeout)
      timer.unref()
      waiter.resolve = () => {
        clearTimeout(timer)
        if (this.#closed) {
          reject(new SiemError('SIEM_ERR_QUEUE_CLOSED', 'the queue closed while the request waited for space'))
        } else {
          resolve()
        }
      }
      this.#spaceWaiters.push(waiter)
    })
  }

  /** Lets the first blocked request in, when it fits; the next one is tried on the next commit. */
  #wakeSpaceWaiters(): void {
    const next = this.#spaceWaiters[0]
    if (next === undefined || !this.#fits(next.events, next.bytes)) return
    this.#spaceWaiters.shift()
    next.resolve()
  }

  #removeTaker(waiter: Waiter, result: Batch | null): void {
    const index = this.#takers.indexOf(waiter)
    if (index === -1) return
    this.#takers.splice(index, 1)
    clearTimeout(waiter.timer)
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
    waiter.resolve(result)
  }

  #cutBatch(maxItems: number): Batch {
    const end = Math.min(this.#waiting.length, this.#waitingHead + maxItems)
    const entries = this.#waiting.slice(this.#waitingHead, end)
    this.#waitingHead = end
    this.#compact()
    const id = randomUUID()
    this.#inFlight.set(id, entries)
    return { id, items: entries.map((entry) => entry.item) }
  }

  #compact(): void {
    if (this.#waitingHead > 4096 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead)
      this.#waitingHead = 0
    }
  }

  /**
   * Hands batches to waiting takers: a full batch at once, a partial one once
   * its oldest item is `maxWaitMs` old or the input has been idle long enough
   * (or at once while draining), and null to every taker when the queue is
   * closed and empty.
   */
  #serveTakers(): void {
    while (this.#takers.length > 0) {
      const taker = this.#takers[0] as Waiter
      const count = this.#waitingCount
      if (count === 0) {
        if (this.#closed) {
          this.#removeTaker(taker, null)
          continue
        }
        break
      }
      const oldest = (this.#waiting[this.#waitingHead] as Entry).enqueuedAt
      const newest = (this.#waiting[this.#waiting.length - 1] as Entry).enqueuedAt
      const due = partialBatchDueAt(oldest, newest, count, taker.maxWaitMs, taker.options) - Date.now()
      if (count >= taker.maxItems || this.#draining || due <= 0) {
        this.#removeTaker(taker, this.#cutBatch(count > taker.maxItems ? taker.backlogItems : taker.maxItems))
        continue
      }
      this.#armAgeTimer(due)
      break
    }
  }

  #armAgeTimer(delayMs: number): void {
    clearTimeout(this.#ageTimer)
    this.#ageTimer = setTimeout(() => this.#serveTakers(), delayMs)
    this.#ageTimer.unref()
  }
}
