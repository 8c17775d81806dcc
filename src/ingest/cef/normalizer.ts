import { isIP } from 'node:net'
import { truncateText } from '../../schema/truncate.js'
import type { CefConfig } from '../../config/types.js'
import type { ActorType, Outcome } from '../../schema/event.js'
import type { Candidate } from '../types.js'
import { setOwnProperty } from '../../schema/own-property.js'
import { resolveAction } from './action.js'
import { CUSTOM_FIELDS, labelKeyOf, labelledKey, type CustomFieldKind } from './custom-fields.js'
import type { CefExtension } from './extension.js'
import { outcomeFromAct, outcomeFromField } from './outcome.js'
import { parseCefLine, type CefRecord } from './parser.js'
import { mapSeverity } from './severity.js'
import { formatInstant, parseCefTime, resolveFields, type Instant } from './time.js'

/** The canonical input object built from one CEF line; the JSON validator checks it like any JSON event. */
export interface CefCanonicalEvent {
  timestamp: string
  source: { product: string; host?: string; instance_id?: string; version?: string }
  action: string
  outcome: Outcome
  severity: number
  actor?: { type: ActorType; id?: string; name?: string; ip_address?: string }
  target?: string
  raw: string
  metadata: Record<string, unknown>
}

export interface NormalizeContext {
  /** Receive time in epoch milliseconds: the reference for yearless times and the last time fallback. */
  receivedAt: number
  /** Address of the sender, the last fallback for `source.host`. */
  peerAddress: string | undefined
}

export type TimeSource = 'rt' | 'start' | 'end' | 'syslog' | 'receive'

/** Stable `errorCode` values of CEF candidates that go straight to quarantine. */
export const CEF_ERROR_CODES = {
  parse: 'cef_parse_error',
  tooLarge: 'cef_message_too_large',
  incompleteFrame: 'cef_frame_incomplete',
} as const

const TIME_KEYS = ['rt', 'start', 'end'] as const
const HOST_KEYS = ['dvchost', 'shost', 'dvc'] as const
const TARGET_KEYS = ['dhost', 'dst', 'duser', 'filePath', 'request'] as const

/**
 * Turns CEF lines into candidates for the shared validator. One instance a
 * listener: it holds the resolved CEF configuration.
 */
export class CefNormalizer {
  readonly #maxMessageSize: number
  readonly #defaultSeverity: number
  readonly #actionMap: Readonly<Record<string, string>>

  constructor(cef: Pick<CefConfig, 'max_message_size' | 'default_severity' | 'action_map'>) {
    this.#maxMessageSize = cef.max_message_size
    this.#defaultSeverity = cef.default_severity
    this.#actionMap = cef.action_map
  }

  /** Parses and normalizes one line (without its line ending). Never throws. */
  normalize(line: string, context: NormalizeContext): Candidate {
    if (this.#exceedsMaxSize(line)) return this.tooLarge(truncateText(line, this.#maxMessageSize), undefined)
    const parsed = parseCefLine(line)
    if (!parsed.ok) {
      return { kind: 'unparsable', rawText: line, errorCode: CEF_ERROR_CODES.parse, errors: [parsed.error] }
    }
    return { kind: 'object', value: this.toCanonical(parsed.record, line, context), rawText: line }
  }

  /** Candidate for a message over `cef.max_message_size`; `truncated` is its start. */
  tooLarge(truncated: string, byteLength: number | undefined): Candidate {
    const size = byteLength === undefined ? '' : ` of ${byteLength} bytes`
    return {
      kind: 'unparsable',
      rawText: truncated,
      errorCode: CEF_ERROR_CODES.tooLarge,
      errors: [
        {
          field: '',
          code: 'too_long',
          message: `CEF message${size} is larger than the limit of ${this.#maxMessageSize} bytes (cef.max_message_size)`,
        },
      ],
    }
  }

  /** Candidate for an octet-counted frame cut off by the end of the connection. */
  incompleteFrame(text: string, expectedBytes: number): Candidate {
    return {
      kind: 'unparsable',
      rawText: text,
      errorCode: CEF_ERROR_CODES.incompleteFrame,
      errors: [
        {
          field: '',
          code: 'incomplete_frame',
          message: `connection closed inside an octet-counted frame of ${expectedBytes} bytes`,
        },
      ],
    }
  }

  toCanonical(record: CefRecord, line: string, context: NormalizeContext): CefCanonicalEvent {
    const extension = record.extension
    const consumed: string[] = []
    const metadata: Record<string, unknown> = {
      cef_version: record.version,
      cef_device_vendor: record.deviceVendor,
      cef_name: record.name,
    }

    const severity = mapSeverity(record.severity, this.#defaultSeverity)
    if (severity.original !== undefined) metadata.cef_severity = severity.original

    const time = pickTime(record, context.receivedAt)
    if (time.key !== undefined) consumed.push(time.key)
    if (time.source === 'syslog' || time.source === 'receive') metadata.time_source = time.source

    const source: CefCanonicalEvent['source'] = { product: record.deviceProduct }
    const host = pickHost(record, context.peerAddress, consumed)
    if (host !== undefined) source.host = host
    if (record.syslog.host !== undefined && record.syslog.host !== host) metadata.syslog_host = record.syslog.host
    if (record.signatureId.length > 0) source.instance_id = record.signatureId
    if (record.deviceVersion.length > 0) source.version = record.deviceVersion

    const event: CefCanonicalEvent = {
      timestamp: formatInstant(time.instant),
      source,
      action: resolveAction(this.#actionMap, record.signatureId, record.name, extension.act),
      outcome: pickOutcome(extension, consumed),
      severity: severity.severity,
      raw: line,
      metadata,
    }
    const actor = pickActor(extension, consumed)
    if (actor !== undefined) event.actor = actor
    const target = firstPresent(extension, TARGET_KEYS)
    if (target !== undefined) {
      event.target = extension[target] as string
      consumed.push(target)
    }
    if (record.extensionLeadingText !== undefined) metadata.cef_extension_text = record.extensionLeadingText
    copyExtension(extension, consumed, metadata, context.receivedAt)
    return event
  }

  #exceedsMaxSize(line: string): boolean {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes, so short lines skip the byte count.
    if (line.length * 3 <= this.#maxMessageSize) return false
    if (line.length > this.#maxMessageSize) return true
    return Buffer.byteLength(line, 'utf8') > this.#maxMessageSize
  }
}

function pickTime(
  record: CefRecord,
  receivedAt: number,
): { instant: Instant; source: TimeSource; key: string | undefined } {
  for (const key of TIME_KEYS) {
    const value = record.extension[key]
    if (value === undefined) continue
    const instant = parseCefTime(value, receivedAt)
    if (instant !== null) return { instant, source: key, key }
  }
  const syslogTime = record.syslog.time
  if (syslogTime !== undefined) {
    const instant = syslogTime.kind === 'instant' ? syslogTime.instant : resolveFields(syslogTime.fields, receivedAt)
    if (instant !== null) return { instant, source: 'syslog', key: undefined }
  }
  return { instant: { ms: receivedAt, micros: 0 }, source: 'receive', key: undefined }
}

function pickHost(record: CefRecord, peerAddress: string | undefined, consumed: string[]): string | undefined {
  const key = firstPresent(record.extension, HOST_KEYS)
  if (key !== undefined) {
    consumed.push(key)
    return record.extension[key]
  }
  return record.syslog.host ?? peerAddress
}

function pickOutcome(extension: CefExtension, consumed: string[]): Outcome {
  const field = extension.outcome
  if (field !== undefined) {
    const outcome = outcomeFromField(field)
    if (outcome !== undefined) {
      consumed.push('outcome')
      return outcome
    }
  }
  const act = extension.act
  return (act === undefined ? undefined : outcomeFromAct(act)) ?? 'unknown'
}

function pickActor(extension: CefExtension, consumed: string[]): CefCanonicalEvent['actor'] {
  const name = nonEmpty(extension.suser)
  const id = nonEmpty(extension.suid)
  const address = nonEmpty(extension.src)
  const ip = address !== undefined && isIP(address) !== 0 ? address : undefined
  if (name === undefined && id === undefined && ip === undefined) return undefined
  const actor: NonNullable<CefCanonicalEvent['actor']> = {
    type: name !== undefined || id !== undefined ? 'user' : 'unknown',
  }
  if (name !== undefined) {
    actor.name = name
    consumed.push('suser')
  }
  if (id !== undefined) {
    actor.id = id
    consumed.push('suid')
  }
  if (ip !== undefined) {
    actor.ip_address = ip
    consumed.push('src')
  }
  return actor
}

/**
 * Copies the extension fields no canonical field took into metadata.
 * Labelled custom fields are stored under their label (`cs1Label=Rule
 * cs1=42` gives `Rule: "42"`), or under the value key when the label is
 * missing; a label that collides with another entry gets the key appended.
 */
function copyExtension(
  extension: CefExtension,
  consumed: readonly string[],
  metadata: Record<string, unknown>,
  receivedAt: number,
): void {
  let custom: string[] | undefined
  for (const key in extension) {
    if (consumed.includes(key)) continue
    const value = extension[key] as string
    if (CUSTOM_FIELDS.has(key)) {
      ;(custom ??= []).push(key)
      continue
    }
    const base = labelledKey(key)
    if (base !== undefined && extension[base] !== undefined) continue
    setOwnProperty(metadata, key, value)
  }
  if (custom === undefined) return
  for (const key of custom) {
    const label = nonEmpty(extension[labelKeyOf(key)])
    let name = label ?? key
    if (Object.hasOwn(metadata, name)) name = `${name} (${key})`
    const kind = CUSTOM_FIELDS.get(key) as CustomFieldKind
    setOwnProperty(metadata, name, typedValue(extension[key] as string, kind, receivedAt))
  }
}

function typedValue(value: string, kind: CustomFieldKind, receivedAt: number): unknown {
  if (kind === 'number') {
    const number = value.trim().length === 0 ? Number.NaN : Number(value)
    return Number.isFinite(number) ? number : value
  }
  if (kind === 'date') {
    const instant = parseCefTime(value, receivedAt)
    return instant === null ? value : formatInstant(instant)
  }
  return value
}

function firstPresent(extension: CefExtension, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = extension[key]
    if (value !== undefined && value.length > 0) return key
  }
  return undefined
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value
}
