import { randomUUID } from 'node:crypto'
import type { EventRow, FieldError, QuarantineRow, SourceFormat } from '../schema/event.js'
import { MAX_NESTING_DEPTH, serializedDeeperThan } from '../schema/nesting.js'
import { formatClickHouseMicros, nowMicros } from '../schema/timestamp.js'
import { truncateText } from '../schema/truncate.js'
import type { EventValidator } from '../schema/validate.js'
import type { Candidate } from './types.js'

/** Source details that preparing an event needs. */
export interface PrepareContext {
  tenantId: string
  sourceIp: string
  sourceFormat: SourceFormat
  /** ingest.max_quarantine_raw: the longest raw text a quarantine row keeps. */
  maxQuarantineRaw: number
}

/**
 * One candidate after validation: a row for `events`, or a quarantine row
 * with the validation errors. `clientId` is true when the sender chose the
 * event id, because only such an id can come back in a re-send.
 */
export type PreparedEvent =
  | { kind: 'event'; row: EventRow; clientId: boolean }
  | { kind: 'quarantine'; row: QuarantineRow; errorCode: string; errors: FieldError[] }

/** Renders one validation problem for the quarantine table's `validation_errors` column. */
export function describeFieldError(error: FieldError): string {
  return `${error.field === '' ? '(event)' : error.field}: ${error.message} (${error.code})`
}

/** Builds a quarantine row for input that never became a valid event. */
export function quarantineRow(rawText: string, errorCode: string, errors: FieldError[], context: PrepareContext): QuarantineRow {
  return {
    quarantine_id: randomUUID(),
    quarantined_at: formatClickHouseMicros(nowMicros()),
    tenant_id: context.tenantId,
    raw_event: truncateText(rawText, context.maxQuarantineRaw),
    source_ip: context.sourceIp,
    source_format: context.sourceFormat,
    // A field path can contain a key with a lone surrogate, and ClickHouse rejects a lone high surrogate in JSON input.
    validation_errors: errors.map((error) => describeFieldError(error).toWellFormed()),
    error_code: errorCode,
  }
}

/**
 * Validates candidates into rows. This is the costly, self-contained part of
 * ingest: it needs no queue and no shared state, so it runs the same on the
 * main thread and in a preparation worker.
 */
export function prepareCandidates(candidates: readonly Candidate[], validator: EventValidator, context: PrepareContext): PreparedEvent[] {
  const receivedAt = nowMicros()
  const prepared: PreparedEvent[] = []
  for (const candidate of candidates) {
    if (candidate.kind === 'unparsable') {
      const { rawText, errorCode, errors } = candidate
      prepared.push({ kind: 'quarantine', row: quarantineRow(rawText, errorCode, errors, context), errorCode, errors })
      continue
    }
    // Serializing a parsed event back to text costs as much as parsing it,
    // so it is done only when the text is needed: as `raw`, or for quarantine.
    const value = candidate.value
    const rawText = candidate.rawText ?? (() => rawTextOf(value))
    const validation = validator.validate({ value, rawText, tenantId: context.tenantId, receivedAt })
    if (!validation.ok) {
      const errorCode = validation.errors[0]?.code ?? 'invalid_event'
      const text = typeof rawText === 'string' ? rawText : rawText()
      prepared.push({ kind: 'quarantine', row: quarantineRow(text, errorCode, validation.errors, context), errorCode, errors: validation.errors })
      continue
    }
    prepared.push({ kind: 'event', row: validation.row, clientId: hasClientEventId(value) })
  }
  return prepared
}

function hasClientEventId(value: unknown): boolean {
  return (value as { event_id?: unknown }).event_id !== undefined
}

const TOO_DEEP_TEXT = '(event nested too deeply to keep as text)'

/**
 * An event whose metadata is within MAX_NESTING_DEPTH is at most one level
 * deeper, so its text is always kept. Past this depth the text is replaced,
 * whether or not the thread's stack could serialize it.
 */
const MAX_TEXT_DEPTH = MAX_NESTING_DEPTH + 1

function rawTextOf(value: unknown): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    // JSON.stringify, and String for arrays, recurse: a value nested thousands
    // of levels deep (which JSON.parse accepts) overflows the stack.
    return TOO_DEEP_TEXT
  }
  return serializedDeeperThan(text, value, MAX_TEXT_DEPTH) ? TOO_DEEP_TEXT : text
}
