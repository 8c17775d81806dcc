import type { IngestConfig } from '../config/types.js'
import type { IngestMetrics } from '../metrics/pipeline-metrics.js'
import type { EventQueue } from '../queue/types.js'
import type { AcceptedEventId, FieldError, QueueItem } from '../schema/event.js'
import { compactLines } from '../schema/serialized-row.js'
import type { EventValidator } from '../schema/validate.js'
import { SiemError } from '../errors.js'
import { InFlightClaims, type InFlightRequest } from './in-flight-claims.js'
import { prepareCandidates, type PrepareContext, type PreparedEvent } from './prepare.js'
import { RecentIds } from './recent-ids.js'
import type { Candidate, CandidateError, IngestContext, IngestResult, Ingestor } from './types.js'

export interface IngestPipelineOptions {
  config: IngestConfig
  validator: EventValidator
  queue: EventQueue
  metrics: IngestMetrics
  /**
   * Maximum time in ms a request waits for other unfinished requests that
   * hold its ids, in total over its claim attempts. @default 5000
   */
  resendWaitMs?: number | undefined
}

/**
 * The stage every listener shares: validates candidates, turns invalid ones
 * into quarantine rows, skips events re-sent within the dedup window, and
 * enqueues the request's rows in one enqueue, so they are acknowledged or
 * refused together.
 */
export class IngestPipeline implements Ingestor {
  readonly #config: IngestConfig
  readonly #validator: EventValidator
  readonly #queue: EventQueue
  readonly #metrics: IngestMetrics
  readonly #recent: RecentIds
  readonly #inFlight = new InFlightClaims()
  readonly #resendWaitMs: number

  constructor(options: IngestPipelineOptions) {
    this.#config = options.config
    this.#validator = options.validator
    this.#queue = options.queue
    this.#metrics = options.metrics
    this.#resendWaitMs = options.resendWaitMs ?? 5000
    this.#recent = new RecentIds(options.config.dedup_window_events, options.config.dedup_window)
  }

  /**
   * Puts ids that were stored or queued before a restart back into the
   * re-send window, so that a sender's retry of a request whose response a
   * crash cut off is skipped and not stored twice. Each list must be sorted
   * oldest first. The lists are merged by the time each id was accepted, so
   * the window ages and evicts them as it would have without the restart.
   * Returns the number of ids the window then holds.
   */
  restoreResendWindow(lists: ReadonlyArray<readonly AcceptedEventId[]>): number {
    if (!this.#recent.enabled) return 0
    const next = lists.map(() => 0)
    for (;;) {
      let pick = -1
      let pickAt = Infinity
      for (let list = 0; list < lists.length; list++) {
        const entry = (lists[list] as readonly AcceptedEventId[])[next[list] as number]
        if (entry !== undefined && (pick < 0 || entry.acceptedAt < pickAt)) {
          pick = list
          pickAt = entry.acceptedAt
        }
      }
      if (pick < 0) return this.#recent.size
      const entry = (lists[pick] as readonly AcceptedEventId[])[next[pick] as number] as AcceptedEventId
      next[pick] = (next[pick] as number) + 1
      // claim, not add: an id in both lists (a batch stored and not yet committed in the spool) is kept once.
      // Adding it again would leave its first ring entry behind, taking room until eviction reaches it.
      this.#recent.claim(entry.tenantId, entry.eventId, entry.acceptedAt)
    }
  }

  /** Returns the part of a context that `prepareCandidates` uses, with the quarantine text limit. */
  prepareContext(context: IngestContext): PrepareContext {
    return {
      tenantId: context.tenantId,
      sourceIp: context.sourceIp,
      sourceFormat: context.sourceFormat,
      maxQuarantineRaw: this.#config.max_quarantine_raw,
    }
  }

  ingest(candidates: Candidate[], context: IngestContext): Promise<IngestResult> {
    return this.ingestPrepared(prepareCandidates(candidates, this.#validator, this.prepareContext(context)), context)
  }

  async ingestPrepared(prepared: readonly PreparedEvent[], context: IngestContext): Promise<IngestResult> {
    const request = this.#inFlight.begin(context.tenantId)
    let stored = false
    try {
      // Read once: a worker's row reads its id from its line at each access.
      const ids = prepared.map((event) => (event.kind === 'event' ? event.row.event_id : ''))
      const duplicates = await this.#claim(prepared, ids, context.tenantId, request)
      const { items, result, quarantineReasons } = this.#collect(prepared, ids, duplicates)
      const source = context.listener
      this.#metrics.received.inc({ source }, prepared.length)
      try {
        await this.#queue.enqueue(items, { ack: context.ack, origin: context.requestId })
      } catch (err) {
        const reason = (err as { code?: string }).code ?? 'enqueue_failed'
        this.#metrics.rejected.inc({ source, reason }, prepared.length)
        throw err
      }
      stored = true
      this.#metrics.accepted.inc({ source }, result.accepted)
      if (result.duplicates > 0) this.#metrics.duplicates.inc({ source }, result.duplicates)
      for (const reason of quarantineReasons) this.#metrics.quarantined.inc({ source, reason })
      return result
    } finally {
      // Claims of a request that failed are released, so that a re-send is stored.
      if (!stored) this.#release(context.tenantId, request.claimed)
      this.#inFlight.end(request, stored)
    }
  }

  /**
   * Claims the sender-chosen ids of the events in the re-send window and
   * returns which events are re-sent (1) and so skipped. An id that another
   * unfinished request has claimed is not known to be stored yet, so this
   * request then releases its own claims, waits for the other requests'
   * outcomes, and claims again. It keeps no claim while it waits, so two
   * requests cannot wait for each other. It waits at most `resendWaitMs` in
   * total, then throws SIEM_ERR_QUEUE_TIMEOUT.
   */
  async #claim(prepared: readonly PreparedEvent[], ids: readonly string[], tenantId: string, request: InFlightRequest): Promise<Uint8Array> {
    if (!this.#recent.enabled) return new Uint8Array(prepared.length)
    let expiry: { expired: Promise<false>; cancel(): void } | undefined
    try {
      for (;;) {
        const now = Date.now()
        const duplicates = new Uint8Array(prepared.length)
        const holders = new Set<InFlightRequest>()
        try {
          for (let index = 0; index < prepared.length; index++) {
            const event = prepared[index] as PreparedEvent
            // Only ids the sender chose can come back in a re-send; generated ones are new by construction.
            // The window is per tenant: another tenant's id must neither drop this event nor be revealed by it.
            if (event.kind !== 'event' || !event.clientId) continue
            const id = ids[index] as string
            // A claim fails for an id seen before, in an earlier request or earlier in this one.
            if (this.#recent.claim(tenantId, id, now)) {
              request.add(id)
              continue
            }
            const holder = this.#inFlight.holderOf(tenantId, id, request)
            if (holder === undefined) duplicates[index] = 1
            else holders.add(holder)
          }
        } catch (err) {
          this.#release(tenantId, request.claimed)
          request.clear()
          throw err
        }
        if (holders.size === 0) return duplicates
        this.#release(tenantId, request.claimed)
        request.clear()
        // One timer for every round, so that a chain of re-sends of the same ids cannot wait without bound.
        expiry ??= this.#expiry()
        const finished = await Promise.race([Promise.all([...holders].map((holder) => holder.done)).then(() => true), expiry.expired])
        if (!finished) {
          throw new SiemError('SIEM_ERR_QUEUE_TIMEOUT', `timed out after ${this.#resendWaitMs} ms waiting for another request that claimed the same event ids; retry later`, {
            value: this.#resendWaitMs,
            retryAfterSeconds: 1,
          })
        }
      }
    } finally {
      expiry?.cancel()
    }
  }

  /** Starts the timer that ends a request's wait for other requests' claims. */
  #expiry(): { expired: Promise<false>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#resendWaitMs)
      timer.unref()
    })
    return { expired, cancel: () => clearTimeout(timer) }
  }

  /** Builds the queue items and the response of a request whose ids are claimed. */
  #collect(prepared: readonly PreparedEvent[], ids: readonly string[], duplicates: Uint8Array): { items: QueueItem[]; result: IngestResult; quarantineReasons: string[] } {
    const items: QueueItem[] = []
    const result: IngestResult = { accepted: 0, quarantined: 0, duplicates: 0, eventIds: [], errors: [] }
    const quarantineReasons: string[] = []
    for (let index = 0; index < prepared.length; index++) {
      const event = prepared[index] as PreparedEvent
      if (event.kind === 'quarantine') {
        items.push({ table: 'quarantine', row: event.row })
        this.#recordErrors(result.errors, index, event.errors)
        quarantineReasons.push(event.errorCode)
        continue
      }
      result.eventIds.push(ids[index] as string)
      if (duplicates[index] === 1) {
        result.duplicates++
        continue
      }
      items.push({ table: 'events', row: event.row })
      result.accepted++
    }
    result.quarantined = quarantineReasons.length
    // Rows left between skipped re-sends would keep the skipped rows' bytes alive.
    if (result.duplicates > 0) compactLines(items)
    return { items, result, quarantineReasons }
  }

  #release(tenantId: string, claimed: readonly string[]): void {
    for (const id of claimed) this.#recent.delete(tenantId, id)
  }

  #recordErrors(target: CandidateError[], index: number, errors: FieldError[]): void {
    for (const error of errors) target.push({ index, ...error })
  }
}
