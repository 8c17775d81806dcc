/**
 * Canonical event shapes. `EventRow` and `QuarantineRow` are the rows of the
 * `events` and `events_quarantine` tables exactly as sent to ClickHouse in
 * JSONEachRow. Every DateTime64 value is a UTC string
 * `YYYY-MM-DD hh:mm:ss.ffffff`: a server's default input format rejects ISO
 * strings with `T` and `Z`, and reads bare integers as ticks.
 */

export const SCHEMA_VERSION = '1.0.0'

export const ACTOR_TYPES = ['user', 'process', 'service', 'system', 'unknown'] as const
export type ActorType = (typeof ACTOR_TYPES)[number]

export const OUTCOMES = ['success', 'failure', 'unknown'] as const
export type Outcome = (typeof OUTCOMES)[number]

export type SourceFormat = 'json' | 'cef'

export interface EventRow {
  event_id: string
  /**
   * Marker of who chose `event_id`: false when the server generated it,
   * and undefined (left out of the JSON) when the sender chose it. Only a
   * sender's id can come back in a re-send, so a restart rebuilds the
   * re-send window from those ids alone. ClickHouse stores a row without
   * the field as true (the column's DEFAULT), so the common row, with a
   * sender's id, carries no extra bytes.
   */
  id_from_sender?: false | undefined
  tenant_id: string
  timestamp: string
  received_at: string
  source_product: string
  source_host: string
  source_instance_id: string
  source_version: string
  actor_type: ActorType
  actor_id: string
  actor_name: string
  actor_email: string
  actor_ip: string
  action: string
  target: string
  outcome: Outcome
  severity: number
  schema_version: string
  raw: string
  /** The event's metadata object serialized as JSON text. */
  metadata: string
}

export interface QuarantineRow {
  quarantine_id: string
  quarantined_at: string
  tenant_id: string
  raw_event: string
  source_ip: string
  source_format: SourceFormat
  /** One entry a problem, `path: message (code)`. */
  validation_errors: string[]
  error_code: string
}

/** One item of the ingest queue: a row bound for one of the two tables. */
export type QueueItem =
  | { table: 'events'; row: EventRow }
  | { table: 'quarantine'; row: QuarantineRow }

/** One validation problem of one event. */
export interface FieldError {
  /** Dotted path of the field, such as `actor.email`; `` for the whole event. */
  field: string
  /** Stable code, such as `missing_field` or `too_long`. */
  code: string
  message: string
}

/**
 * An event id with its tenant and the time the server accepted it, in ms
 * since the epoch: what the re-send window needs of an event stored or
 * queued before a restart.
 */
export interface AcceptedEventId {
  tenantId: string
  eventId: string
  acceptedAt: number
}
