import type { IngestConfig } from '../config/types.js'
import type { IngestMetrics } from '../metrics/pipeline-metrics.js'
import type { EventQueue } from '../queue/types.js'
import type { FieldError, QueueItem } from '../schema/event.js'
import type { EventValidator } from '../schema/validate.js'
import { prepareCandidates, type PrepareContext, type PreparedEvent } from './prepare.js'
import { RecentIds } from './recent-ids.js'
import type { Candidate, CandidateError, IngestContext, IngestResult, Ingestor } from './types.js'

export interface IngestPipelineOptions {
  config: IngestConfig
  validator: EventValidator
  queue: EventQueue
  metrics: IngestMetrics
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

  constructor(options: IngestPipelineOptions) {
    this.#config = options.config
    this.#validator = options.validator
    this.#queue = options.queue
    this.#metrics = options.metrics
    this.#recent = new RecentIds(options.config.dedup_window_events, options.config.dedup_window)
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
    const now = Date.now()
    const items: QueueItem[] = []
    const result: IngestResult = { accepted: 0, quarantined: 0, duplicates: 0, eventIds: [], errors: [] }
    const claimed: string[] = []
    const quarantineReasons: string[] = []

    // Ids are claimed as the events are read, so that a concurrent re-send of
    // the same request finds them, and released if this request fails.
    try {
      for (let index = 0; index < prepared.length; index++) {
        const event = prepared[index] as PreparedEvent
        if (event.kind === 'quarantine') {
          items.push({ table: 'quarantine', row: event.row })
          this.#recordErrors(result.errors, index, event.errors)
          quarantineReasons.push(event.errorCode)
          continue
        }
        const id = event.row.event_id
        // Only ids the sender chose can come back in a re-send; generated ones are new by construction.
        // The window is per tenant: another tenant's id must neither drop this event nor be revealed by it.
        if (this.#recent.enabled && event.clientId) {
          // A claim fails for an id seen before, in an earlier request or earlier in this one.
          if (!this.#recent.claim(context.tenantId, id, now)) {
            result.duplicates++
            result.eventIds.push(id)
            continue
          }
          claimed.push(id)
        }
        items.push({ table: 'events', row: event.row })
        result.eventIds.push(id)
        result.accepted++
      }
    } catch (err) {
      this.#release(context.tenantId, claimed)
      throw err
    }
    result.quarantined = quarantineReasons.length

    const source = context.listener
    this.#metrics.received.inc({ source }, prepared.length)
    try {
      await this.#queue.enqueue(items, { ack: context.ack, origin: context.requestId })
    } catch (err) {
      this.#release(context.tenantId, claimed)
      const reason = (err as { code?: string }).code ?? 'enqueue_failed'
      this.#metrics.rejected.inc({ source, reason }, prepared.length)
      throw err
    }
    this.#metrics.accepted.inc({ source }, result.accepted)
    if (result.duplicates > 0) this.#metrics.duplicates.inc({ source }, result.duplicates)
    for (const reason of quarantineReasons) this.#metrics.quarantined.inc({ source, reason })
    return result
  }

  #release(tenantId: string, claimed: readonly string[]): void {
    for (const id of claimed) this.#recent.delete(tenantId, id)
  }

  #recordErrors(target: CandidateError[], index: number, errors: FieldError[]): void {
    for (const error of errors) target.push({ index, ...error })
  }
}
