import { randomUUID } from 'node:crypto'
import { isSiemError, type ErrorCode } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { Candidate, IngestContext, Ingestor } from '../types.js'
import type { CefListenerMetrics } from './metrics.js'

export interface CandidateBatcherOptions {
  ingestor: Ingestor
  /** Context of every batch; each batch gets its own request id. */
  context: Omit<IngestContext, 'requestId'>
  /** Candidates per ingest call. */
  maxBatch: number
  /** Milliseconds a candidate may wait for its batch to fill. */
  maxDelayMs: number
  /** Ingest calls that may be pending at once; more than one matters when ack waits for storage. */
  maxInFlight: number
  /** Candidates that may wait; beyond it `push` drops them (UDP). Infinity where the caller can pause its input (TCP). */
  maxPending: number
  logger: Logger
  metrics: CefListenerMetrics
  /** Called when the caller should stop reading (true) or may read again (false). */
  onPressure?: (paused: boolean) => void
  /** Called whenever the last pending ingest call returns and nothing waits. */
  onIdle?: () => void
}

/** Errors after which the same batch is offered again: the queue or spool is full for now. */
const RETRIABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SIEM_ERR_QUEUE_FULL',
  'SIEM_ERR_QUEUE_TIMEOUT',
  'SIEM_ERR_SPOOL_FULL',
  'SIEM_ERR_SPOOL_WRITE',
])

const FIRST_RETRY_DELAY_MS = 10
const MAX_RETRY_DELAY_MS = 1000

/**
 * Collects candidates into batches for `Ingestor.ingest`: a batch leaves
 * when it is full, when its oldest candidate has waited `maxDelayMs`, or as
 * soon as an ingest call in flight returns. A batch the queue cannot take
 * yet is retried with backoff, and the caller is asked to pause meanwhile.
 */
export class CandidateBatcher {
  readonly #options: CandidateBatcherOptions
  #pending: Candidate[] = []
  #inFlight = 0
  #retrying = 0
  #paused = false
  #aborted = false
  #timer: NodeJS.Timeout | undefined
  readonly #retryWakers = new Set<() => void>()
  #idleWaiters: Array<() => void> = []

  constructor(options: CandidateBatcherOptions) {
    this.#options = options
  }

  get pendingCount(): number {
    return this.#pending.length
  }

  /** Adds a candidate; returns false when it was dropped because `maxPending` were waiting. */
  push(candidate: Candidate): boolean {
    if (this.#aborted || this.#pending.length >= this.#options.maxPending) {
      this.#options.metrics.dropped(1, this.#aborted ? 'closing' : 'queue_full')
      return false
    }
    this.#pending.push(candidate)
    if (this.#pending.length >= this.#options.maxBatch) this.#dispatch(false)
    else this.#timer ??= setTimeout(() => this.#onTimer(), this.#options.maxDelayMs).unref()
    return true
  }

  /** Sends what is waiting without waiting for the batch to fill. */
  flush(): void {
    this.#dispatch(true)
  }

  /** Flushes, then resolves once nothing waits and no ingest call is pending. */
  idle(): Promise<void> {
    this.flush()
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Stops retrying and drops what waits, counting it; used when closing takes too long. */
  abort(): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#clearTimer()
    if (this.#pending.length > 0) {
      this.#options.metrics.dropped(this.#pending.length, 'closing')
      this.#options.logger.warn({ dropped: this.#pending.length }, 'dropped CEF messages still waiting at close')
      this.#pending = []
    }
    for (const wake of this.#retryWakers) wake()
    this.#settle()
  }

  #onTimer(): void {
    this.#timer = undefined
    this.#dispatch(true)
  }

  #dispatch(force: boolean): void {
    const { maxBatch, maxInFlight } = this.#options
    while (
      !this.#aborted &&
      this.#retrying === 0 &&
      this.#inFlight < maxInFlight &&
      (this.#pending.length >= maxBatch || (force && this.#pending.length > 0))
    ) {
      const batch = this.#pending.length <= maxBatch ? this.#pending : this.#pending.slice(0, maxBatch)
      this.#pending = batch === this.#pending ? [] : this.#pending.slice(maxBatch)
      this.#inFlight++
      void this.#send(batch)
    }
    if (this.#pending.length === 0) this.#clearTimer()
    this.#updatePressure()
  }

  async #send(batch: Candidate[]): Promise<void> {
    const context: IngestContext = { ...this.#options.context, requestId: randomUUID() }
    const logger = this.#options.logger
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.#options.ingestor.ingest(batch, context)
        this.#options.metrics.quarantined.inc(result.quarantined)
        logger.debug({ request_id: context.requestId, accepted: result.accepted, quarantined: result.quarantined }, 'CEF batch ingested')
        break
      } catch (err) {
        if (this.#aborted || !isSiemError(err) || !RETRIABLE_CODES.has(err.code)) {
          this.#options.metrics.dropped(batch.length, isSiemError(err) ? err.code : 'error')
          logger.error({ err, request_id: context.requestId, dropped: batch.length }, 'CEF batch dropped: ingest failed')
          break
        }
        if (attempt === 0) logger.warn({ request_id: context.requestId, code: err.code }, 'queue cannot take CEF batch yet; pausing input and retrying')
        await this.#retryDelay(attempt)
      }
    }
    this.#inFlight--
    this.#dispatch(true)
    this.#settle()
  }

  async #retryDelay(attempt: number): Promise<void> {
    this.#retrying++
    this.#updatePressure()
    const delay = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** attempt)
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.#retryWakers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, delay).unref()
      this.#retryWakers.add(wake)
    })
    this.#retrying--
  }

  #updatePressure(): void {
    const { maxBatch, maxInFlight } = this.#options
    const paused =
      !this.#aborted && (this.#retrying > 0 || (this.#inFlight >= maxInFlight && this.#pending.length >= maxBatch))
    if (paused === this.#paused) return
    this.#paused = paused
    this.#options.onPressure?.(paused)
  }

  #isIdle(): boolean {
    return this.#inFlight === 0 && (this.#pending.length === 0 || this.#aborted)
  }

  #settle(): void {
    if (!this.#isIdle()) return
    this.#options.onIdle?.()
    if (this.#idleWaiters.length === 0) return
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
