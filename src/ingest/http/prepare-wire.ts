import { SerializedEventRow } from '../../schema/serialized-row.js'
import type { PreparedEvent } from '../prepare.js'
import type { BodyOutcome } from './prepare-body.js'

type PreparedQuarantine = Extract<PreparedEvent, { kind: 'quarantine' }>

/**
 * A body's prepared events as they cross from a worker to the main thread,
 * in a few flat values instead of one object an event, which the message
 * would clone field by field. The `events` rows go as one buffer of JSON
 * lines, moved rather than copied: bytes outside the heap cost the main
 * thread's garbage collector nothing, and the lines are what the spool and
 * the writer need. Quarantine rows are rare and go as they are.
 */
interface WirePrepared {
  kind: 'prepared'
  /** The JSON line of every `events` row, in order. */
  lines: ArrayBuffer
  /**
   * One entry a prepared event, in order: the byte length of its line, with
   * CLIENT_ID_BIT set when the client chose the event id, or 0 for the next
   * quarantine entry.
   */
  layout: Uint32Array
  quarantine: PreparedQuarantine[]
}

export type WireOutcome = Exclude<BodyOutcome, { kind: 'prepared' }> | WirePrepared

/** An outcome ready to post, and the buffers the message moves to the receiver. */
export interface WireMessage {
  outcome: WireOutcome
  transfer: ArrayBuffer[]
}

/** A line is at most a body long, and a body is far below 2 GiB, so the top bit is free. */
const CLIENT_ID_BIT = 0x8000_0000

/** Maximum UTF-8 bytes of one UTF-16 code unit: a surrogate pair is two units and 4 bytes. */
const MAX_UTF8_BYTES_PER_UNIT = 3
/** Largest scratch buffer a worker keeps between bodies; a larger body gets a buffer of its own. */
const SCRATCH_KEEP_BYTES = 4 * 1024 * 1024
let scratch: Buffer = Buffer.alloc(0)

/**
 * Returns a buffer of at least `bytes` bytes to write lines into. Writing
 * into a buffer that is sure to be large enough, then copying the bytes
 * used, costs less than measuring each line's UTF-8 length first. On the
 * benchmark's rows of about 630 bytes it saved about 0.3 µs of CPU a row,
 * 7 % of the step (`node dist/bench/line-write.js`).
 */
function scratchOf(bytes: number): Buffer {
  if (scratch.length >= bytes) return scratch
  // allocUnsafeSlow: not a slice of Node's shared pool, so the bytes are this buffer's alone.
  const fresh = Buffer.allocUnsafeSlow(bytes)
  if (bytes <= SCRATCH_KEEP_BYTES) scratch = fresh
  return fresh
}

export function toWire(outcome: BodyOutcome): WireMessage {
  if (outcome.kind !== 'prepared') return { outcome, transfer: [] }
  const texts: string[] = []
  let units = 0
  for (const event of outcome.events) {
    if (event.kind !== 'event') continue
    // Not rowJson: the worker drops each row once it is posted, so caching the text would only cost time.
    const text = JSON.stringify(event.row)
    texts.push(text)
    units += text.length + 1
  }
  const view = scratchOf(units * MAX_UTF8_BYTES_PER_UNIT)
  const layout = new Uint32Array(outcome.events.length)
  const quarantine: PreparedQuarantine[] = []
  let offset = 0
  let row = 0
  outcome.events.forEach((event, index) => {
    if (event.kind !== 'event') {
      quarantine.push(event)
      return
    }
    const bytes = view.write(texts[row++] as string, offset) + 1
    view[offset + bytes - 1] = 0x0a
    offset += bytes
    layout[index] = event.clientId ? bytes | CLIENT_ID_BIT : bytes
  })
  // A copy of the bytes used, in an ArrayBuffer of their own that the message can move.
  const lines = view.buffer.slice(view.byteOffset, view.byteOffset + offset) as ArrayBuffer
  return { outcome: { kind: 'prepared', lines, layout, quarantine }, transfer: [lines, layout.buffer as ArrayBuffer] }
}

export function fromWire(outcome: WireOutcome): BodyOutcome {
  if (outcome.kind !== 'prepared') return outcome
  const lines = Buffer.from(outcome.lines)
  const events: PreparedEvent[] = new Array(outcome.layout.length)
  let offset = 0
  let quarantined = 0
  for (let index = 0; index < outcome.layout.length; index++) {
    const entry = outcome.layout[index] as number
    if (entry === 0) {
      events[index] = outcome.quarantine[quarantined++] as PreparedQuarantine
      continue
    }
    const end = offset + ((entry & ~CLIENT_ID_BIT) >>> 0)
    // Every row is read by its offsets in the one buffer of the body; the id is the line's first column.
    events[index] = { kind: 'event', row: new SerializedEventRow(lines, offset, end), clientId: entry >= CLIENT_ID_BIT }
    offset = end
  }
  return { kind: 'prepared', events }
}
