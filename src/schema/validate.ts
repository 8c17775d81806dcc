import { isIP } from 'node:net'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { ValidationConfig } from '../config/types.js'
import { SCHEMA_VERSION, type ActorType, type EventRow, type FieldError, type Outcome } from './event.js'
import { KNOWN_FIELDS, MAX_RAW_LENGTH, eventSchema } from './event-schema.js'
import { MAX_NESTING_DEPTH, serializedDeeperThan } from './nesting.js'
import { setOwnProperty } from './own-property.js'
import { formatClickHouseMicros, parseRfc3339, type EpochMicros } from './timestamp.js'
import { truncateText } from './truncate.js'
import { uuidv7 } from './uuid.js'

// ajv-formats is CommonJS with a default export; under NodeNext the callable is on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

/**
 * Most problems listed for one event. Each listed problem goes into the
 * response and the quarantine row, so without a limit both would grow with
 * the number of unknown fields, to tens of megabytes for one 10 MiB body
 * (an estimate).
 */
export const MAX_LISTED_ERRORS = 100

/** Stable codes of validation problems, one per kind of failure. */
export const VALIDATION_CODES = {
  missing_field: 'a required field is missing',
  invalid_type: 'the value has the wrong JSON type',
  too_long: 'the value is longer than allowed',
  too_short: 'the value is empty',
  invalid_format: 'the value does not have the required format',
  invalid_value: 'the value is not one of the allowed values',
  out_of_range: 'the number is outside the allowed range',
  unknown_field: 'the field is not part of the schema',
  invalid_timestamp: 'the timestamp is not RFC 3339 with an offset or Z',
  timestamp_too_old: 'the timestamp is older than validation.max_event_age',
  timestamp_in_future: 'the timestamp is later than validation.max_future allows',
  too_deep: 'the value is nested too deeply to store',
  too_many_errors: `the event has more than ${MAX_LISTED_ERRORS} problems, and those past the first ${MAX_LISTED_ERRORS} are not listed`,
} as const

export type ValidationCode = keyof typeof VALIDATION_CODES

export interface ValidationInput {
  value: unknown
  /**
   * Text of the event as received, stored as `raw` when the event has none.
   * A function is called only then, so callers can skip serializing events that carry `raw`.
   */
  rawText: string | (() => string)
  tenantId: string
  receivedAt: EpochMicros
}

export type ValidationResult = { ok: true; row: EventRow } | { ok: false; errors: FieldError[] }

interface InputEvent {
  event_id?: string
  timestamp: string
  source: { product: string; host?: string; instance_id?: string; version?: string }
  action: string
  outcome?: Outcome
  severity?: number
  actor?: { type?: ActorType; id?: string; name?: string; email?: string; ip_address?: string }
  target?: string
  raw?: string
  metadata?: Record<string, unknown>
  [extra: string]: unknown
}

/** Severity of an event that gives none: the middle of the 1-10 scale. */
export const DEFAULT_SEVERITY = 5

const AJV_CODES: Record<string, ValidationCode> = {
  required: 'missing_field',
  type: 'invalid_type',
  maxLength: 'too_long',
  minLength: 'too_short',
  pattern: 'invalid_format',
  format: 'invalid_format',
  enum: 'invalid_value',
  minimum: 'out_of_range',
  maximum: 'out_of_range',
  additionalProperties: 'unknown_field',
}

function toFieldError(error: ErrorObject): FieldError {
  const base = error.instancePath.slice(1).replaceAll('/', '.')
  const code = AJV_CODES[error.keyword] ?? 'invalid_value'
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty: string }).missingProperty)
    const field = base === '' ? missing : `${base}.${missing}`
    return { field, code, message: `${field} is required` }
  }
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty)
    const field = base === '' ? extra : `${base}.${extra}`
    return { field, code, message: `${field} is not a known field` }
  }
  const field = base === '' ? '(event)' : base
  return { field, code, message: `${field} ${error.message ?? 'is invalid'}` }
}

/**
 * Validates input events against the canonical schema and turns valid ones
 * into `events` rows. Structure, types, lengths and formats come from a
 * compiled JSON schema; the timestamp is parsed here, because the window and
 * the microsecond fraction are outside what JSON schema can say.
 */
export class EventValidator {
  readonly #config: ValidationConfig
  readonly #check: ValidateFunction
  #receivedAtMicros = -1
  #receivedAtText = ''

  constructor(config: ValidationConfig) {
    this.#config = config
    const ajv = new Ajv({ allErrors: true, strict: true })
    addFormats(ajv, ['email'])
    // ajv-formats' uuid also accepts a `urn:uuid:` prefix, which the UUID column cannot store.
    ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
    ajv.addFormat('ip', { type: 'string', validate: (value: string) => isIP(value) !== 0 })
    this.#check = ajv.compile(eventSchema(config.strict_mode))
  }

  validate(input: ValidationInput): ValidationResult {
    const value = input.value
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, errors: [{ field: '(event)', code: 'invalid_type', message: 'an event must be a JSON object' }] }
    }
    const errors: FieldError[] = []
    if (!this.#check(value)) {
      // A loop, because push(...errors) passes each error as an argument, and an event
      // with 200,000 unknown fields then overflowed the call stack (a test has that case).
      for (const error of this.#check.errors ?? []) errors.push(toFieldError(error))
    }
    const event = value as InputEvent

    let timestamp: EpochMicros | undefined
    if (typeof event.timestamp === 'string') {
      timestamp = this.#checkTimestamp(event.timestamp, input.receivedAt, errors)
    }
    if (errors.length > 0 || timestamp === undefined) return { ok: false, errors: capErrors(errors) }
    const row = this.#toRow(event, timestamp, input)
    if (row === undefined) {
      return { ok: false, errors: [{ field: 'metadata', code: 'too_deep', message: `metadata is nested more than ${MAX_NESTING_DEPTH} levels deep` }] }
    }
    const encodingErrors = loneSurrogateErrors(row)
    if (encodingErrors.length > 0) return { ok: false, errors: encodingErrors }
    return { ok: true, row }
  }

  #checkTimestamp(text: string, receivedAt: EpochMicros, errors: FieldError[]): EpochMicros | undefined {
    const micros = parseRfc3339(text)
    if (micros === undefined) {
      errors.push({ field: 'timestamp', code: 'invalid_timestamp', message: `timestamp ${JSON.stringify(text)} is not RFC 3339 with an offset or Z` })
      return undefined
    }
    if (micros < receivedAt - this.#config.max_event_age * 1000) {
      errors.push({ field: 'timestamp', code: 'timestamp_too_old', message: `timestamp ${text} is older than the ${this.#config.max_event_age / 1000} s ingest window` })
      return undefined
    }
    if (micros > receivedAt + this.#config.max_future * 1000) {
      errors.push({ field: 'timestamp', code: 'timestamp_in_future', message: `timestamp ${text} is more than ${this.#config.max_future / 1000} s in the future` })
      return undefined
    }
    return micros
  }

  /** Events of one request share their receive time, so its text is kept for the next call. */
  #formatReceivedAt(micros: EpochMicros): string {
    if (micros !== this.#receivedAtMicros) {
      this.#receivedAtMicros = micros
      this.#receivedAtText = formatClickHouseMicros(micros)
    }
    return this.#receivedAtText
  }

  /** Builds the row, or returns undefined when the metadata is nested too deeply. */
  #toRow(event: InputEvent, timestamp: EpochMicros, input: ValidationInput): EventRow | undefined {
    const actor = event.actor
    let metadata = event.metadata
    if (!this.#config.strict_mode) metadata = moveUnknownFields(event, metadata)
    const metadataText = metadata === undefined ? '{}' : metadataJson(metadata)
    if (metadataText === undefined) return undefined
    const raw = event.raw ?? truncateText(typeof input.rawText === 'string' ? input.rawText : input.rawText(), MAX_RAW_LENGTH)
    return {
      event_id: event.event_id === undefined ? uuidv7() : event.event_id.toLowerCase(),
      // Undefined rather than absent, so that every row has the same shape. JSON.stringify leaves it out.
      id_from_sender: event.event_id === undefined ? false : undefined,
      tenant_id: input.tenantId,
      timestamp: formatClickHouseMicros(timestamp),
      received_at: this.#formatReceivedAt(input.receivedAt),
      source_product: event.source.product,
      source_host: event.source.host ?? '',
      source_instance_id: event.source.instance_id ?? '',
      source_version: event.source.version ?? '',
      actor_type: actor?.type ?? 'unknown',
      actor_id: actor?.id ?? '',
      actor_name: actor?.name ?? '',
      actor_email: actor?.email ?? '',
      actor_ip: actor?.ip_address ?? '',
      action: event.action,
      target: event.target ?? '',
      outcome: event.outcome ?? 'unknown',
      severity: event.severity ?? DEFAULT_SEVERITY,
      schema_version: SCHEMA_VERSION,
      raw,
      metadata: metadataText,
    }
  }
}

/** Keeps the first MAX_LISTED_ERRORS problems and counts the rest in one more entry. */
function capErrors(errors: FieldError[]): FieldError[] {
  if (errors.length <= MAX_LISTED_ERRORS) return errors
  const omitted = errors.length - MAX_LISTED_ERRORS
  const listed = errors.slice(0, MAX_LISTED_ERRORS)
  listed.push({ field: '(event)', code: 'too_many_errors', message: `${omitted} more problems of this event are not listed` })
  return listed
}

/** Free-text columns and the input field each comes from. */
const TEXT_COLUMNS: Array<[keyof EventRow, string]> = [
  ['source_product', 'source.product'],
  ['source_host', 'source.host'],
  ['source_instance_id', 'source.instance_id'],
  ['source_version', 'source.version'],
  ['actor_id', 'actor.id'],
  ['actor_name', 'actor.name'],
  ['target', 'target'],
  ['raw', 'raw'],
]

/**
 * Reports text that holds a lone UTF-16 surrogate (JSON allows `"\ud800"`).
 * UTF-8 cannot encode one, and ClickHouse refuses the row, so the event goes
 * to quarantine here with its original text instead. Metadata is stored as
 * JSON text, where such a character stays an ASCII escape, so it is not checked.
 */
function loneSurrogateErrors(row: EventRow): FieldError[] {
  const errors: FieldError[] = []
  for (const [column, field] of TEXT_COLUMNS) {
    const value = row[column]
    if (typeof value === 'string' && !value.isWellFormed()) {
      errors.push({ field, code: 'invalid_format', message: `${field} contains a lone UTF-16 surrogate, which UTF-8 cannot encode` })
    }
  }
  return errors
}

/**
 * Serializes metadata, or returns undefined when it is nested deeper than
 * MAX_NESTING_DEPTH, so the limit is the same on every thread.
 */
function metadataJson(metadata: Record<string, unknown>): string | undefined {
  let text: string
  try {
    text = JSON.stringify(metadata)
  } catch (err) {
    // JSON.stringify recurses, so metadata nested thousands of levels deep
    // (which JSON.parse accepts) can overflow the stack before the depth check.
    if (err instanceof RangeError) return undefined
    throw err
  }
  return serializedDeeperThan(text, metadata, MAX_NESTING_DEPTH) ? undefined : text
}

function moveUnknownFields(
  event: InputEvent,
  metadata: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  let merged = metadata
  for (const key of Object.keys(event)) {
    if (KNOWN_FIELDS.has(key)) continue
    merged = merged === undefined ? {} : merged === metadata ? { ...metadata } : merged
    setOwnProperty(merged, key, event[key])
  }
  return merged
}

