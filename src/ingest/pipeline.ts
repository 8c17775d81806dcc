import { randomUUID } from 'node:crypto'
import type { IngestConfig } from '../config/types.js'
import type { IngestMetrics } from '../metrics/pipeline-metrics.js'
import type { EventQueue } from '../queue/types.js'
import type { FieldError, QuarantineRow, QueueItem } from '../schema/event.js'
import { formatClickHouseMicros, nowMicros } from '../schema/timestamp.js'
import { truncateText } from '../schema/truncate.js'
import type { EventValidator } from '../schema/validate.js'
import { RecentIds } from './recent-ids.js'
import type { Candidate, CandidateError, IngestContext, IngestResult, Ingestor } from './types.js'

export interface IngestPipelineOptions {
  config: IngestConfig
  validator: EventValidator
  queue: EventQueue
  metrics: IngestMetrics
}

/** Renders one validation problem for the quarantine table's `validation_errors` column. */
export function describeFieldError(error: FieldError): string {
  return `${error.field === '' ? '(event)' : error.field}: ${error.message} (${error.code})`
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

  /** Builds a quarantine row for input that never became a valid event. */
  quarantineRow(rawText: string, errorCode: string, errors: FieldError[], context: IngestContext): QuarantineRow {
    return {
      quarantine_id: randomUUID(),
      quarantined_at: formatClickHouseMicros(nowMicros()),
      tenant_id: context.tenantId,
      raw_event: truncateText(rawText, this.#config.max_quarantine_raw),
      source_ip: context.sourceIp,
      source_format: context.sourceFormat,
      validation_errors: errors.map(describeFieldError),
      error_code: errorCode,
    }
  }

  async ingest(candidates: Candidate[], context: IngestContext): Promise<IngestResult> {
    const receivedAt = nowMicros()
    const now = Date.now()
    const items: QueueItem[] = []
    const result: IngestResult = { accepted: 0, quarantined: 0, duplicates: 0, eventIds: [], errors: [] }
    const claimed: string[] = []
    const quarantineReasons: string[] = []

    // Ids are claimed as the events are read, so that a concurrent re-send of
    // the same request finds them, and released if this request fails.
    try {
      for (const [index, candidate] of candidates.entries()) {
        if (candidate.kind === 'unparsable') {
          items.push({ table: 'quarantine', row: this.quarantineRow(candidate.rawText, candidate.errorCode, candidate.errors, context) })
          this.#recordErrors(result.errors, index, candidate.errors)
          quarantineReasons.push(candidate.errorCode)
          continue
        }
        // Serializing a parsed event back to text costs as much as parsing it,
        // so it is done only when the text is needed: as `raw`, or for quarantine.
        const value = candidate.value
        const rawText = candidate.rawText ?? (() => rawTextOf(value))
        const validation = this.#validator.validate({ value, rawText, tenantId: context.tenantId, receivedAt })
        if (!validation.ok) {
          const code = validation.errors[0]?.code ?? 'invalid_event'
          const text = typeof rawText === 'string' ? rawText : rawText()
          items.push({ table: 'quarantine', row: this.quarantineRow(text, code, validation.errors, context) })
          this.#recordErrors(result.errors, index, validation.errors)
          quarantineReasons.push(code)
          continue
        }
        const id = validation.row.event_id
        // Only ids the sender chose can come back in a re-send; generated ones are new by construction.
        // The window is per tenant: another tenant's id must neither drop this event nor be revealed by it.
        if (this.#recent.enabled && hasClientEventId(candidate.value)) {
          // A claim fails for an id seen before, in an earlier request or earlier in this one.
          if (!this.#recent.claim(context.tenantId, id, now)) {
            result.duplicates++
            result.eventIds.push(id)
            continue
          }
          claimed.push(id)
        }
        items.push({ table: 'events', row: validation.row })
        result.eventIds.push(id)
        result.accepted++
      }
    } catch (err) {
      this.#release(context.tenantId, claimed)
      throw err
    }
    result.quarantined = quarantineReasons.length

    const source = context.listener
    this.#metrics.received.inc({ source }, candidates.length)
    try {
      await this.#queue.enqueue(items, { ack: context.ack, origin: context.requestId })
    } catch (err) {
      this.#release(context.tenantId, claimed)
      const reason = (err as { code?: string }).code ?? 'enqueue_failed'
      this.#metrics.rejected.inc({ source, reason }, candidates.length)
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

function hasClientEventId(value: unknown): boolean {
  return (value as { event_id?: unknown }).event_id !== undefined
}

function rawTextOf(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    // JSON.stringify, and String for arrays, recurse: a value nested thousands
    // of levels deep (which JSON.parse accepts) overflows the stack.
    return '(event nested too deeply to keep as text)'
  }
}
