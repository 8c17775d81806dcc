import type { AckMode } from '../queue/types.js'
import type { FieldError, SourceFormat } from '../schema/event.js'

/** Where a group of events came from; the same for every event of one request or message. */
export interface IngestContext {
  tenantId: string
  sourceIp: string
  sourceFormat: SourceFormat
  /** Request id (HTTP) or message id (CEF), carried into logs. */
  requestId: string
  ack: AckMode
  /** Listener name for metrics: `http`, `cef_udp`, `cef_tcp`. */
  listener: string
}

/**
 * One input event before validation. `object` is a parsed JSON value (for
 * CEF, the canonical nested object the normalizer built); `unparsable` is
 * input that could not become an object and goes straight to quarantine.
 * `rawText` is the event as received; when absent, the pipeline serializes
 * `value` if it needs the text (as `raw`, or for a quarantine row).
 */
export type Candidate =
  | { kind: 'object'; value: unknown; rawText?: string }
  | { kind: 'unparsable'; rawText: string; errorCode: string; errors: FieldError[] }

export interface CandidateError extends FieldError {
  /** Position of the event in the request. */
  index: number
}

export interface IngestResult {
  accepted: number
  quarantined: number
  /** Events the recent-id window recognized as re-sent and skipped. */
  duplicates: number
  /** event_id of each accepted event, in input order. */
  eventIds: string[]
  errors: CandidateError[]
}

/** The pipeline as a listener uses it: validate, quarantine, enqueue. */
export interface Ingestor {
  /**
   * Validates the candidates, enqueues valid ones as events and invalid ones
   * as quarantine rows in one enqueue, and resolves per `context.ack`.
   * Rejects with the queue's SiemError when the queue cannot take them.
   */
  ingest(candidates: Candidate[], context: IngestContext): Promise<IngestResult>
}
