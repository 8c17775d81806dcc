import { SerializedEventRow } from '../../schema/serialized-row.js'
import { rowJson } from '../../schema/row-json.js'
import type { PreparedEvent } from '../prepare.js'
import type { BodyOutcome } from './prepare-body.js'

/**
 * A prepared event as it crosses from a worker to the main thread. An
 * `events` row goes as its JSON text: copying one string is far cheaper than
 * cloning an object of twenty fields, and the text is what the spool and
 * the writer need. Quarantine rows are rare and go as they are.
 */
type WireEvent =
  | { kind: 'event'; json: string; eventId: string; clientId: boolean }
  | Extract<PreparedEvent, { kind: 'quarantine' }>

export type WireOutcome = Exclude<BodyOutcome, { kind: 'prepared' }> | { kind: 'prepared'; events: WireEvent[] }

export function toWire(outcome: BodyOutcome): WireOutcome {
  if (outcome.kind !== 'prepared') return outcome
  const events: WireEvent[] = outcome.events.map((event) =>
    event.kind === 'event' ? { kind: 'event', json: rowJson(event.row), eventId: event.row.event_id, clientId: event.clientId } : event,
  )
  return { kind: 'prepared', events }
}

export function fromWire(outcome: WireOutcome): BodyOutcome {
  if (outcome.kind !== 'prepared') return outcome
  const events: PreparedEvent[] = outcome.events.map((event) =>
    event.kind === 'event' ? { kind: 'event', row: new SerializedEventRow(event.json, event.eventId), clientId: event.clientId } : event,
  )
  return { kind: 'prepared', events }
}
