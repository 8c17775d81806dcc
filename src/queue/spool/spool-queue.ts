/**
 * SpoolQueue: the event queue as a write-ahead log on local disk.
 *
 * Layout. The spool directory contains segment files `segment-<base>.log`,
 * written append-only and named by the sequence number the first event
 * written to them gets. Every event gets a sequence number ("seq") when it
 * is enqueued; an enqueue is one data record holding its events, each as
 * the JSON line the writer inserts. Each record is length-prefixed and
 * CRC-32 checked (record.ts).
 * A segment rotates when the next group would take it past `segment_size`.
 *
 * Group commit. Records are collected for up to `group_commit_delay` and
 * then written with one write and one fdatasync (segment-log.ts), so many
 * concurrent enqueues share one fsync. `durable` acks resolve after that
 * fsync, `memory` acks right after the record is queued for writing, and
 * `committed` acks once every event of the enqueue is in a committed batch.
 * With `spool.fsync: false` the group is written without fdatasync, which
 * survives a crash of the process but not of the machine.
 *
 * Stable batch ids. `take` hands out only events whose data record is on
 * disk, oldest first, so a batch is a range of consecutive seqs. Before the
 * batch is returned, a seal record (random id, first and last seq) is
 * written and synced, and `commit` writes a commit record. At start-up the
 * spool is scanned (replay.ts): batches with a seal and no commit are handed
 * out again first, with the same id and the same events in the same order,
 * so ClickHouse's insert_deduplication_token drops one that was stored
 * before the crash. Events in no sealed batch wait to be batched anew.
 *
 * Deletion. The oldest segment is deleted once every event numbered below
 * the next segment's base is in a batch whose commit record is on disk.
 * Seal and commit records always follow the events they name, so a deleted
 * segment holds no seal of a batch still open, and a seal that survives
 * either has its commit record after it or still has all its events.
 *
 * Bounds. All events not yet committed stay on disk until their batch is
 * committed. At most `queue.max_events` and `queue.max_bytes` of them are
 * also held in memory; beyond that the spool keeps the rest on disk only
 * (the backlog) and reads it back in order as commits free memory. So the
 * disk cap `spool.max_bytes` is the spool's only bound: an enqueue that
 * would pass it fails with SIEM_ERR_SPOOL_FULL (policy `reject`), or waits
 * up to `block_timeout` for committed segments to be deleted and then fails
 * with SIEM_ERR_QUEUE_TIMEOUT (policy `block`). Policy `drop_oldest` acts
 * as `reject`: the oldest events were acknowledged, and dropping them would
 * lose evidence the sender will not send again.
 *
 * Write failures. A failed write or fsync (ENOSPC, EIO) is logged, the
 * enqueues of that group not yet acknowledged fail with SIEM_ERR_SPOOL_WRITE,
 * and new enqueues fail the same way until a retry every `retry_after`
 * succeeds. Records already acknowledged (`memory` acks, seals, commits)
 * are kept and written again at the same offset; nothing on disk before
 * the failed write is touched.
 *
 * Deduplication window. After a crash at most `writer.concurrency` batches
 * were sealed and not committed (each writer slot holds one batch from
 * `take` until `commit` resolves, and `commit` resolves once its commit
 * record is written), and any of them may already be stored. For ClickHouse
 * to drop such a replayed insert, its earlier insert must still be among
 * the last `non_replicated_deduplication_window` blocks of the table when
 * the replay arrives:
 *
 *   window >= P * (2 * C + R)
 *
 * with C = writer.concurrency, P = the number of partitions one batch can
 * touch (each partition is a separate block with its own hash), and R =
 * the batches other writer slots can store while one batch waits for a
 * retry. 2 * C counts the other batches sealed before the crash plus those
 * handed out after it. R has no hard bound (a flaky link can let one slot
 * retry while others succeed), so the window should be generous: with
 * C = 2 and P <= 8, a window of 1000 covers R up to about 120.
 */
import { randomUUID } from 'node:crypto'
import type { Registry } from 'prom-client'
import { SiemError } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { QueueConfig } from '../../config/types.js'
import type { AcceptedEventId, QueueItem } from '../../schema/event.js'
import { estimateItemBytes, partialBatchDueAt, type AckMode, type Batch, type EnqueueOptions, type EventQueue, type QueueStats, type TakeOptions } from '../types.js'
import { readBacklog, type BacklogRead } from './backlog-reader.js'
import { CommitWaiters } from './commit-waiters.js'
import { nodeSpoolFileSystem, type SpoolFileSystem } from './files.js'
import { ItemFifo } from './item-fifo.js'
import { createSpoolMetrics, type SpoolMetrics } from './metrics.js'
import { encodeCommitRecord, encodeDataRecord, encodeSealRecord } from './record.js'
import { replaySpool, type ReplayResult } from './replay.js'
import { SegmentLog, type RecordLocation } from './segment-log.js'
import type { Backlog, OpenBatch, ResidentItem } from './state.js'

export interface SpoolQueueOptions {
  /** Queue settings; `config.spool.dir` must already be resolved to the spool directory. */
  config: QueueConfig
  logger: Logger
  registry: Registry
  /** File operations; tests pass a wrapper to count fsyncs or inject write errors. */
  files?: SpoolFileSystem
  /**
   * The re-send window: replay collects the ids of at most `limit` events
   * enqueued within the last `windowMs`, for `takeReplayedIds`. Off when
   * undefined.
   */
  resendWindow?: { windowMs: number; limit: number } | undefined
}

/** Smallest segment size used, whatever the configuration sets. */
const MIN_SEGMENT_BYTES = 4096

interface Taker {
  maxItems: number
  /** Largest batch sealed when more than maxItems wait. */
  backlogItems: number
  maxWaitMs: number
  options: TakeOptions | undefined
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  resolve(batch: Batch | null): void
  done: boolean
}

/** An enqueue whose data record is not written yet. */
interface UnwrittenRecord {
  firstSeq: number
  items: QueueItem[]
  enqueuedAt: number
  ack: AckMode
}

type State = 'new' | 'starting' | 'open' | 'closing' | 'closed'

export class SpoolQueue implements EventQueue {
  private readonly config: QueueConfig
  private readonly logger: Logger
  private readonly files: SpoolFileSystem
  private readonly metrics: SpoolMetrics
  private readonly log: SegmentLog
  private readonly retryAfterSeconds: number
  private readonly resendWindow: { windowMs: number; limit: number } | undefined
  /** Ids that replay collected for the re-send window, until `takeReplayedIds` hands them over. */
  private replayedIds: AcceptedEventId[] = []

  private state: State = 'new'
  private starting: Promise<void> | null = null
  private closing: Promise<void> | null = null
  private nextSeq = 0
  private draining = false

  private readonly ready = new ItemFifo()
  private readonly openBatches = new Map<string, OpenBatch>()
  /** Batches committed whose commit record is not written yet. */
  private readonly committing = new Map<string, OpenBatch>()
  /** Sealed batches no taker holds: replayed ones, and ones whose taker aborted. */
  private unclaimed: OpenBatch[] = []
  private takers: Taker[] = []
  private readonly outstanding = new Set<Taker>()
  private takeTimer: NodeJS.Timeout | null = null
  private takeTimerAt = Number.POSITIVE_INFINITY

  private residentEvents = 0
  private residentBytes = 0
  private readonly unwritten = new Map<number, UnwrittenRecord>()
  private unwrittenEvents = 0
  private backlog: Backlog | null = null
  private refilling: Promise<void> | null = null
  private readonly commitWaiters = new CommitWaiters()
  private roomWaiters: (() => void)[] = []

  constructor(options: SpoolQueueOptions) {
    this.config = options.config
    this.logger = options.logger.child({ module: 'spool', dir: options.config.spool.dir })
    this.files = options.files ?? nodeSpoolFileSystem
    this.resendWindow = options.resendWindow
    this.retryAfterSeconds = Math.max(1, Math.ceil(this.config.retry_after / 1000))
    this.metrics = createSpoolMetrics(options.registry, {
      bytes: () => this.log.bytes,
      segments: () => this.log.segments.length,
      oldestUncommittedAgeSeconds: () => this.oldestUncommittedAgeSeconds(),
      backlogEvents: () => this.backlog?.events ?? 0,
    })
    this.log = new SegmentLog({
      dir: this.config.spool.dir,
      segmentSize: this.segmentSize(),
      fsync: this.config.spool.fsync,
      groupCommitDelayMs: this.config.spool.group_commit_delay,
      retryDelayMs: Math.max(1, this.config.retry_after),
      files: this.files,
      logger: this.logger,
      observeFsync: (seconds) => this.metrics.fsyncDuration.observe(seconds),
      countWriteError: () => this.metrics.writeErrors.inc(),
    })
  }

  /**
   * Segments are kept to a quarter of the disk cap at most: a segment is
   * deleted only whole, so a segment as large as the cap could never be
   * deleted while it is being appended to.
   */
  private segmentSize(): number {
    const { segment_size: configured, max_bytes: cap } = this.config.spool
    return Math.max(MIN_SEGMENT_BYTES, Math.min(configured, Math.floor(cap / 4)))
  }

  /** Replays the spool: sealed batches first, then events in no batch. Safe to call twice. */
  start(): Promise<void> {
    this.starting ??= this.open()
    return this.starting
  }

  private async open(): Promise<void> {
    if (this.state !== 'new') return
    this.state = 'starting'
    const started = performance.now()
    const dir = this.config.spool.dir
    const replay = await replaySpool({
      dir,
      files: this.files,
      logger: this.logger,
      maxEvents: this.config.max_events,
      maxBytes: this.config.max_bytes,
      recent: this.resendWindow === undefined ? undefined : { since: Date.now() - this.resendWindow.windowMs, limit: this.resendWindow.limit },
      countDamaged: () => this.metrics.damagedRecords.inc(),
    }).catch((err: unknown) => {
      this.state = 'closed'
      throw new SiemError('SIEM_ERR_SPOOL_WRITE', `opening the spool directory ${dir} failed`, {
        cause: err,
        value: dir,
        retryAfterSeconds: this.retryAfterSeconds,
      })
    })
    this.restore(replay)
    this.replayedIds = replay.recentIds
    const events = this.residentEvents + (this.backlog?.events ?? 0)
    this.metrics.replayedBatches.inc(replay.sealed.length)
    this.metrics.replayedEvents.inc(events)
    this.logger.info(
      {
        segments: replay.segments.length,
        replayed_batches: replay.sealed.length,
        events,
        backlog_events: this.backlog?.events ?? 0,
        replay_ms: Math.round(performance.now() - started),
      },
      'spool opened',
    )
    if (this.state !== 'starting') return
    this.state = 'open'
    this.refill()
    this.pump()
  }

  private restore(replay: ReplayResult): void {
    this.log.open(replay.segments, replay.appendFile, replay.nextSeq - 1)
    this.nextSeq = replay.nextSeq
    this.unclaimed = replay.sealed
    for (const batch of replay.sealed) {
      this.openBatches.set(batch.id, batch)
      this.addResident(batch.items)
    }
    for (const item of replay.ready) this.ready.push(item)
    this.addResident(replay.ready)
    this.backlog = replay.backlog
  }

  async enqueue(items: QueueItem[], options: EnqueueOptions): Promise<void> {
    this.checkAccepting()
    if (items.length === 0) return
    const enqueuedAt = Date.now()
    let record = encodeDataRecord({ firstSeq: this.nextSeq, enqueuedAt, count: items.length }, items)
    if (!this.hasRoom(record.length)) {
      await this.waitForRoom(record.length, options)
      record = encodeDataRecord({ firstSeq: this.nextSeq, enqueuedAt, count: items.length }, items)
    }
    const firstSeq = this.nextSeq
    const lastSeq = firstSeq + items.length - 1
    this.nextSeq = lastSeq + 1
    const pending: UnwrittenRecord = { firstSeq, items, enqueuedAt, ack: options.ack }
    this.unwritten.set(firstSeq, pending)
    this.unwrittenEvents += items.length
    const committed = options.ack === 'committed' ? this.commitWaiters.add(firstSeq, lastSeq) : null
    // A committed waiter can be rejected before anyone awaits it; the durable
    // promise below carries the same error to the caller.
    committed?.catch(() => undefined)
    const durable = new Promise<void>((resolve, reject) => {
      this.log.append({
        parts: record.parts,
        length: record.length,
        lastSeq,
        retry: options.ack === 'memory',
        written: (location) => {
          this.onDataWritten(pending, location)
          resolve()
        },
        failed: (error) => {
          this.onDataFailed(pending, error)
          reject(error)
        },
      })
    })
    if (options.ack === 'memory') {
      durable.catch(() => undefined)
      return
    }
    await durable
    if (committed !== null) await committed
  }

  private checkAccepting(): void {
    if (this.state !== 'open') {
      const reason = this.state === 'new' || this.state === 'starting' ? 'is not started yet' : 'is closed'
      throw new SiemError('SIEM_ERR_QUEUE_CLOSED', `the spool ${reason}`, {
        value: this.config.spool.dir,
        retryAfterSeconds: this.retryAfterSeconds,
      })
    }
    const failure = this.log.failed
    if (failure !== null) {
      throw new SiemError('SIEM_ERR_SPOOL_WRITE', failure.message, {
        cause: failure.cause,
        value: failure.value,
        retryAfterSeconds: this.retryAfterSeconds,
      })
    }
  }

  private hasRoom(recordBytes: number): boolean {
    return this.log.bytes + recordBytes <= this.config.spool.max_bytes
  }

  private spoolFull(recordBytes: number): SiemError {
    const maxBytes = this.config.spool.max_bytes
    return new SiemError(
      'SIEM_ERR_SPOOL_FULL',
      `the spool contains ${this.log.bytes} bytes and cannot take ${recordBytes} more without exceeding spool.max_bytes (${maxBytes}); retry once the backlog is stored`,
      { value: recordBytes, retryAfterSeconds: this.retryAfterSeconds, details: { spool_bytes: this.log.bytes, max_bytes: maxBytes } },
    )
  }

  /** Waits for committed segments to be deleted (policy `block`) or fails at once. */
  private async waitForRoom(recordBytes: number, options: EnqueueOptions): Promise<void> {
    if (this.config.overflow_policy !== 'block' || recordBytes > this.config.spool.max_bytes) {
      throw this.spoolFull(recordBytes)
    }
    const deadline = Date.now() + this.config.block_timeout
    while (!this.hasRoom(recordBytes)) {
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new SiemError(
          'SIEM_ERR_QUEUE_TIMEOUT',
          `the spool stayed at spool.max_bytes (${this.config.spool.max_bytes}) for queue.block_timeout (${this.config.block_timeout} ms)`,
          { value: options.origin ?? recordBytes, retryAfterSeconds: this.retryAfterSeconds },
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        timer.unref()
        this.roomWaiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
      this.checkAccepting()
    }
  }

  private wakeRoomWaiters(): void {
    for (const wake of this.roomWaiters.splice(0)) wake()
  }

  private onDataWritten(pending: UnwrittenRecord, location: RecordLocation): void {
    this.unwritten.delete(pending.firstSeq)
    this.unwrittenEvents -= pending.items.length
    const end = { segment: location.segment, offset: location.offset + location.length }
    if (this.backlog !== null) {
      this.backlog.events += pending.items.length
      this.backlog.end = end
      return
    }
    const resident = pending.items.map((item, index) => ({
      seq: pending.firstSeq + index,
      item,
      enqueuedAt: pending.enqueuedAt,
      bytes: estimateItemBytes(item),
    }))
    const bytes = resident.reduce((sum, item) => sum + item.bytes, 0)
    const overBound = this.residentEvents + resident.length > this.config.max_events ||
      this.residentBytes + bytes > this.config.max_bytes
    if (overBound && this.residentEvents > 0) {
      this.backlog = {
        cursor: { segment: location.segment, offset: location.offset },
        end,
        fromSeq: pending.firstSeq,
        events: pending.items.length,
        firstEnqueuedAt: pending.enqueuedAt,
      }
      this.logger.info({ max_events: this.config.max_events, max_bytes: this.config.max_bytes }, 'in-memory bound reached; further events wait on disk only')
      return
    }
    for (const item of resident) this.ready.push(item)
    this.addResident(resident)
    this.pump()
  }

  private onDataFailed(pending: UnwrittenRecord, error: SiemError): void {
    this.unwritten.delete(pending.firstSeq)
    this.unwrittenEvents -= pending.items.length
    this.commitWaiters.rejectOne(pending.firstSeq, error)
    if (pending.ack === 'memory') {
      this.logger.error(
        { err: error, events: pending.items.length, first_seq: pending.firstSeq },
        'events acknowledged in memory mode were never written to the spool and are lost',
      )
    }
    this.wakeRoomWaiters()
  }

  private addResident(items: readonly ResidentItem[]): void {
    this.residentEvents += items.length
    for (const item of items) this.residentBytes += item.bytes
  }

  take(maxItems: number, maxWaitMs: number, signal?: AbortSignal, options?: TakeOptions): Promise<Batch | null> {
    if (this.state === 'closing' || this.state === 'closed' || signal?.aborted === true) return Promise.resolve(null)
    return new Promise((resolve) => {
      const limit = Math.max(1, Math.floor(maxItems))
      const taker: Taker = {
        maxItems: limit,
        backlogItems: Math.max(limit, Math.floor(options?.backlogItems ?? limit)),
        maxWaitMs: Math.max(0, maxWaitMs),
        options,
        signal,
        onAbort: undefined,
        resolve,
        done: false,
      }
      if (signal !== undefined) {
        taker.onAbort = () => {
          this.takers = this.takers.filter((other) => other !== taker)
          this.finishTake(taker, null)
        }
        signal.addEventListener('abort', taker.onAbort, { once: true })
      }
      this.outstanding.add(taker)
      this.takers.push(taker)
      this.pump()
    })
  }

  private finishTake(taker: Taker, batch: Batch | null): void {
    if (taker.done) return
    taker.done = true
    this.outstanding.delete(taker)
    if (taker.onAbort !== undefined) taker.signal?.removeEventListener('abort', taker.onAbort)
    taker.resolve(batch)
  }

  /** Hands batches to waiting takers, oldest events first, and sets the timer for the next one due. */
  private pump(): void {
    if (this.state !== 'open') return
    while (this.takers.length > 0) {
      const taker = this.takers[0]!
      // A sealed batch keeps the events it was sealed with, even when that is more than maxItems.
      const sealed = this.unclaimed.shift()
      if (sealed !== undefined) {
        this.takers.shift()
        this.finishTake(taker, toBatch(sealed))
        continue
      }
      const waiting = this.ready.length
      if (waiting === 0) break
      const full = waiting >= taker.maxItems
      const due = this.draining || Date.now() >= this.partialDueAt(taker)
      if (!full && !(due && this.refilling === null)) break
      this.takers.shift()
      this.seal(taker, this.ready.shift(Math.min(waiting, waiting > taker.maxItems ? taker.backlogItems : taker.maxItems)))
    }
    this.scheduleTakeTimer()
  }

  /** Returns when the events waiting in `ready` form a partial batch that `taker` accepts. */
  private partialDueAt(taker: Taker): number {
    const oldest = this.ready.peek()
    const newest = this.ready.last()
    if (oldest === undefined || newest === undefined) return Number.POSITIVE_INFINITY
    return partialBatchDueAt(oldest.enqueuedAt, newest.enqueuedAt, this.ready.length, taker.maxWaitMs, taker.options)
  }

  private scheduleTakeTimer(): void {
    const taker = this.takers[0]
    // A refill in progress calls pump() when it ends; a timer before then would only fire again at once.
    const dueAt = taker === undefined || this.draining || this.refilling !== null ? Number.POSITIVE_INFINITY : this.partialDueAt(taker)
    if (dueAt === this.takeTimerAt) return
    if (this.takeTimer !== null) clearTimeout(this.takeTimer)
    this.takeTimer = null
    this.takeTimerAt = dueAt
    if (dueAt === Number.POSITIVE_INFINITY) return
    // Not unref()'d: it runs only while events wait for a take that is
    // waiting too, and for at most that take's maxWaitMs.
    this.takeTimer = setTimeout(() => {
      this.takeTimer = null
      this.takeTimerAt = Number.POSITIVE_INFINITY
      this.pump()
    }, Math.max(0, dueAt - Date.now()))
  }

  /** Writes the seal record of a new batch; the taker gets the batch once the record is on disk. */
  private seal(taker: Taker, items: ResidentItem[]): void {
    const batch: OpenBatch = {
      id: randomUUID(),
      firstSeq: items[0]!.seq,
      lastSeq: items.at(-1)!.seq,
      items,
      bytes: items.reduce((sum, item) => sum + item.bytes, 0),
    }
    this.openBatches.set(batch.id, batch)
    this.log.append({
      ...encodeSealRecord({ id: batch.id, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, count: items.length }),
      lastSeq: -1,
      retry: true,
      written: () => {
        if (!taker.done) {
          this.finishTake(taker, toBatch(batch))
          return
        }
        this.unclaimed.push(batch)
        this.unclaimed.sort((a, b) => a.firstSeq - b.firstSeq)
        this.pump()
      },
      // Only at close: the events stay on disk without a seal and are batched anew after the next start.
      failed: () => this.finishTake(taker, null),
    })
  }

  /**
   * Frees the batch's events at once and resolves once its commit record is
   * written and the segments it frees are deleted. An unknown id is logged
   * and ignored; after close() it rejects with SIEM_ERR_QUEUE_CLOSED.
   */
  async commit(batchId: string): Promise<void> {
    if (this.state !== 'open') {
      throw new SiemError('SIEM_ERR_QUEUE_CLOSED', `the spool is closed; batch ${batchId} is handed out again after the next start`, {
        value: batchId,
      })
    }
    const batch = this.openBatches.get(batchId)
    if (batch === undefined) {
      this.logger.warn({ batch_id: batchId }, 'commit of a batch the spool does not hold ignored')
      return
    }
    this.openBatches.delete(batchId)
    this.unclaimed = this.unclaimed.filter((other) => other !== batch)
    this.residentEvents -= batch.items.length
    this.residentBytes -= batch.bytes
    this.commitWaiters.committed(batch.firstSeq, batch.lastSeq)
    // The batch's segments may go only once its commit record is on disk:
    // a seal found without its commit after a restart must still find its events.
    this.committing.set(batchId, batch)
    const written = new Promise<void>((resolve) => {
      this.log.append({
        ...encodeCommitRecord(batchId),
        lastSeq: -1,
        retry: true,
        written: () => {
          this.committing.delete(batchId)
          void this.deleteCommittedSegments().then(resolve)
        },
        failed: (error) => {
          this.logger.warn({ err: error, batch_id: batchId }, 'commit record not written; the batch is handed out again after the next start')
          resolve()
        },
      })
    })
    this.refill()
    this.pump()
    await written
  }

  private deleteCommittedSegments(): Promise<void> {
    return this.log
      .deleteBelow(this.watermark())
      .then(() => this.wakeRoomWaiters())
      .catch((err: unknown) => this.logger.warn({ err }, 'deleting committed spool segments failed'))
  }

  /**
   * Lowest sequence number whose batch is not committed with its commit
   * record on disk: every event below it is stored in ClickHouse and can
   * leave the disk.
   */
  private watermark(): number {
    let low = this.nextSeq
    for (const batch of this.openBatches.values()) low = Math.min(low, batch.firstSeq)
    for (const batch of this.committing.values()) low = Math.min(low, batch.firstSeq)
    const oldestReady = this.ready.peek()
    if (oldestReady !== undefined) low = Math.min(low, oldestReady.seq)
    if (this.backlog !== null) low = Math.min(low, this.backlog.fromSeq)
    const oldestUnwritten = this.unwritten.keys().next()
    if (oldestUnwritten.done !== true) low = Math.min(low, oldestUnwritten.value)
    return low
  }

  /** Reads backlog events back into memory while there is room. */
  private refill(): void {
    if (this.refilling !== null || this.backlog === null || this.state !== 'open') return
    const roomEvents = this.config.max_events - this.residentEvents
    const roomBytes = this.config.max_bytes - this.residentBytes
    if (roomEvents <= 0 || roomBytes <= 0) return
    const backlog = this.backlog
    let progressed = false
    this.refilling = readBacklog(this.log.segments, backlog, roomEvents, roomBytes, {
      files: this.files,
      logger: this.logger,
      countDamaged: () => this.metrics.damagedRecords.inc(),
    })
      .then((read) => {
        progressed = read.items.length > 0
        this.onBacklogRead(backlog, read)
      })
      .catch((err: unknown) => {
        this.logger.error({ err, retry_in_ms: this.config.retry_after }, 'reading spool backlog events back failed')
        const timer = setTimeout(() => this.refill(), Math.max(1, this.config.retry_after))
        timer.unref()
      })
      .finally(() => {
        this.refilling = null
        if (progressed) this.refill()
        this.pump()
      })
  }

  private onBacklogRead(backlog: Backlog, read: BacklogRead): void {
    for (const item of read.items) this.ready.push(item)
    this.addResident(read.items)
    backlog.events = Math.max(0, backlog.events - read.items.length)
    backlog.cursor = read.cursor
    backlog.firstEnqueuedAt = read.nextEnqueuedAt
    const last = read.items.at(-1)
    if (last !== undefined) backlog.fromSeq = last.seq + 1
    const atEnd = read.cursor.segment === backlog.end.segment && read.cursor.offset >= backlog.end.offset
    if (!atEnd) return
    if (backlog.events > 0) {
      this.logger.warn({ events: backlog.events }, 'backlog events not found on disk (damaged records)')
    }
    this.backlog = null
  }

  drain(): void {
    this.draining = true
    this.pump()
  }

  takeReplayedIds(): AcceptedEventId[] {
    const ids = this.replayedIds
    this.replayedIds = []
    return ids
  }

  stats(): QueueStats {
    return {
      depthEvents: this.unwrittenEvents + this.residentEvents + (this.backlog?.events ?? 0),
      depthBytes: this.log.bytes,
      // The spool has no event bound: the disk cap in bytes is its bound.
      capacityEvents: Number.MAX_SAFE_INTEGER,
      capacityBytes: this.config.spool.max_bytes,
      dropped: 0,
    }
  }

  private oldestUncommittedAgeSeconds(): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const batch of this.openBatches.values()) oldest = Math.min(oldest, batch.items[0]?.enqueuedAt ?? oldest)
    oldest = Math.min(oldest, this.ready.peek()?.enqueuedAt ?? oldest)
    if (this.backlog !== null) oldest = Math.min(oldest, this.backlog.firstEnqueuedAt)
    const unwritten = this.unwritten.values().next()
    if (unwritten.done !== true) oldest = Math.min(oldest, unwritten.value.enqueuedAt)
    return oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, (Date.now() - oldest) / 1000)
  }

  /**
   * Stops accepting, writes and syncs what is pending and closes the files.
   * Takes waiting or being sealed resolve with null; events not committed
   * stay on disk for the next start. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    const opened = this.state !== 'new'
    if (this.starting !== null) await this.starting.catch(() => undefined)
    this.state = 'closing'
    if (this.takeTimer !== null) clearTimeout(this.takeTimer)
    this.takeTimer = null
    this.takers = []
    for (const taker of [...this.outstanding]) this.finishTake(taker, null)
    this.wakeRoomWaiters()
    if (this.refilling !== null) await this.refilling
    if (opened) await this.log.close()
    this.commitWaiters.rejectAll(
      new SiemError('SIEM_ERR_QUEUE_CLOSED', 'the spool closed before the events were committed; they are stored after the next start', {
        retryAfterSeconds: this.retryAfterSeconds,
      }),
    )
    this.state = 'closed'
    this.logger.info({ events: this.stats().depthEvents, spool_bytes: this.log.bytes }, 'spool closed')
  }
}

function toBatch(batch: OpenBatch): Batch {
  return { id: batch.id, items: batch.items.map((resident) => resident.item) }
}
