import { SerializedEventRow } from '../../schema/serialized-row.js'
import { rowJson } from '../../schema/row-json.js'
import type { PreparedEvent } from '../prepare.js'
import type { BodyOutcome } from './prepare-body.js'

/**
 * A prepared event as it crosses from a worker to the main thread. The
 * `events` rows of a body go as one buffer of JSON lines, moved rather than
 * copied, and each event names its line by byte offset and length. Copying
 * text is far cheaper than cloning objects of twenty fields, and bytes
 * outside the heap cost the main thread's garbage collector nothing. The
 * lines are what the spool and the writer need. Quarantine rows are rare
 * and go as they are.
 */
type WireEvent =
  | { kind: 'event'; offset: number; bytes: number; eventId: string; clientId: boolean }
  | Extract<PreparedEvent, { kind: 'quarantine' }>

export type WireOutcome =
  | Exclude<BodyOutcome, { kind: 'prepared' }>
  | { kind: 'prepared'; events: WireEvent[]; lines: ArrayBuffer }

/** An outcome ready to post, and the buffers the message moves to the receiver. */
export interface WireMessage {
  outcome: WireOutcome
  transfer: ArrayBuffer[]
}

export function toWire(outcome: BodyOutcome): WireMessage {
  if (outcome.kind !== 'prepared') return { outcome, transfer: [] }
  const texts: string[] = []
  let total = 0
  for (const event of outcome.events) {
    if (event.kind !== 'event') continue
    const text = rowJson(event.row)
    texts.push(text)
    total += Buffer.byteLength(text) + 1
  }
  // A buffer of its own, not a slice of Node's shared pool, so that it can be moved.
  const lines = new ArrayBuffer(total)
  const view = Buffer.from(lines)
  let offset = 0
  let next = 0
  const events: WireEvent[] = outcome.events.map((event) => {
    if (event.kind !== 'event') return event
    const start = offset
    const bytes = view.write(texts[next++] as string, start)
    view[start + bytes] = 0x0a
    offset = start + bytes + 1
    return { kind: 'event', offset: start, bytes: bytes + 1, eventId: event.row.event_id, clientId: event.clientId }
  })
  return { outcome: { kind: 'prepared', events, lines }, transfer: [lines] }
}

export function fromWire(outcome: WireOutcome): BodyOutcome {
  if (outcome.kind !== 'prepared') return outcome
  const lines = Buffer.from(outcome.lines)
  const events: PreparedEvent[] = outcome.events.map((event) =>
    event.kind === 'event'
      ? { kind: 'event', row: new SerializedEventRow(lines.subarray(event.offset, event.offset + event.bytes), event.eventId), clientId: event.clientId }
      : event,
  )
  return { kind: 'prepared', events }
}
