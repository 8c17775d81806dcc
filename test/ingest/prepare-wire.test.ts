import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads'
import { fromWire, toWire, type WireOutcome } from '../../src/ingest/http/prepare-wire.js'
import type { BodyOutcome } from '../../src/ingest/http/prepare-body.js'
import type { PreparedEvent } from '../../src/ingest/prepare.js'
import { decodeDataItems, encodeDataRecord, RECORD_HEADER_BYTES, type RecordTypeCode } from '../../src/queue/spool/record.js'
import { recordBytes } from '../queue/support/spool-helpers.js'
import type { EventRow, QuarantineRow, QueueItem } from '../../src/schema/event.js'
import { SerializedEventRow } from '../../src/schema/serialized-row.js'
import { makeEvent } from '../queue/support/spool-helpers.js'

function row(id: string, raw: string): EventRow {
  return { ...makeEvent(id), raw }
}

const ROWS = [
  row('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a01', 'Failed password for root — "quoted"'),
  row('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a02', 'Benutzer ü, 日本語, 🔐'),
  row('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a03', ''),
]

const QUARANTINE_ROW: QuarantineRow = {
  quarantine_id: '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6aff',
  quarantined_at: '2026-12-04 10:00:01.000000',
  tenant_id: 'acme',
  raw_event: '{"severity":3}',
  source_ip: '127.0.0.1',
  source_format: 'json',
  validation_errors: ['action: is required (missing_field)'],
  error_code: 'SIEM_ERR_SCHEMA_REQUIRED',
}

const QUARANTINE: PreparedEvent = {
  kind: 'quarantine',
  row: QUARANTINE_ROW,
  errorCode: 'SIEM_ERR_SCHEMA_REQUIRED',
  errors: [{ field: 'action', code: 'missing_field', message: 'is required' }],
}

/** Posts the outcome through a real message port, moving its buffers, as a worker does. */
function acrossPort(outcome: BodyOutcome): { received: BodyOutcome; movedBytes: number } {
  const { port1, port2 } = new MessageChannel()
  const wire = toWire(outcome)
  const movedBytes = wire.transfer.reduce((sum, buffer) => sum + buffer.byteLength, 0)
  port1.postMessage(wire.outcome, wire.transfer)
  // A moved buffer is detached on the sending side: the rows were not copied.
  for (const buffer of wire.transfer) assert.equal(buffer.byteLength, 0)
  const message = receiveMessageOnPort(port2)
  port1.close()
  assert.ok(message !== undefined)
  return { received: fromWire(message.message as WireOutcome), movedBytes }
}

test('rows cross in one moved buffer', () => {
  const events: PreparedEvent[] = [
    { kind: 'event', row: ROWS[0] as EventRow, clientId: true },
    QUARANTINE,
    { kind: 'event', row: ROWS[1] as EventRow, clientId: false },
    { kind: 'event', row: ROWS[2] as EventRow, clientId: true },
  ]
  const { received, movedBytes } = acrossPort({ kind: 'prepared', events })
  assert.equal(received.kind, 'prepared')
  if (received.kind !== 'prepared') return
  // The lines of the three rows and four bytes of layout an event.
  assert.equal(movedBytes, ROWS.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)) + 1, 0) + 4 * events.length)
  assert.deepEqual(received.events[1], QUARANTINE)
  const rows = [received.events[0], received.events[2], received.events[3]]
  rows.forEach((event, index) => {
    assert.ok(event?.kind === 'event')
    assert.ok(event.row instanceof SerializedEventRow)
    assert.equal(event.row.line.toString('utf8'), `${JSON.stringify(ROWS[index])}\n`)
    assert.equal(event.row.event_id, ROWS[index]?.event_id)
    assert.deepEqual(event.row.toJSON(), ROWS[index])
  })
  assert.deepEqual(
    rows.map((event) => (event?.kind === 'event' ? event.clientId : undefined)),
    [true, false, true],
  )
})

test('received rows give the same record', () => {
  const events: PreparedEvent[] = ROWS.map((r) => ({ kind: 'event', row: r, clientId: true }))
  const { received } = acrossPort({ kind: 'prepared', events })
  assert.ok(received.kind === 'prepared')
  const items: QueueItem[] = received.events.map((event) => {
    assert.ok(event.kind === 'event')
    return { table: 'events', row: event.row }
  })
  const quarantineItem: QueueItem = { table: 'quarantine', row: QUARANTINE_ROW }
  const header = { firstSeq: 7, enqueuedAt: 1, count: 4 }
  const record = recordBytes(encodeDataRecord(header, [...items, quarantineItem]))
  const plain = recordBytes(encodeDataRecord(header, [...ROWS.map((r): QueueItem => ({ table: 'events', row: r })), quarantineItem]))
  assert.deepEqual(record, plain)
  const decoded = decodeDataItems(record.subarray(RECORD_HEADER_BYTES), record.readUInt8(2) as RecordTypeCode)
  assert.deepEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify([...ROWS.map((r) => ({ table: 'events', row: r })), quarantineItem])))
})

test('outcomes without rows move nothing', () => {
  const outcome: BodyOutcome = { kind: 'rejected', code: 'SIEM_ERR_INGEST_NO_VALID_EVENTS', message: 'the body contains no events', value: undefined }
  const { received, movedBytes } = acrossPort(outcome)
  assert.deepEqual(received, outcome)
  assert.equal(movedBytes, 0)
})

/** Returns the line of every `events` row a body outcome carries. */
function linesOf(outcome: BodyOutcome): string[] {
  assert.ok(outcome.kind === 'prepared')
  return outcome.events.map((event) => {
    assert.ok(event.kind === 'event')
    assert.ok(event.row instanceof SerializedEventRow)
    return event.row.line.toString('utf8')
  })
}

test('later bodies leave earlier lines intact', () => {
  const first = acrossPort({ kind: 'prepared', events: ROWS.map((r) => ({ kind: 'event', row: r, clientId: true })) })
  const other = row('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a09', 'x'.repeat(5000))
  acrossPort({ kind: 'prepared', events: [{ kind: 'event', row: other, clientId: true }] })
  assert.deepEqual(
    linesOf(first.received),
    ROWS.map((r) => `${JSON.stringify(r)}\n`),
  )
})

test('multi-byte rows fit in any body size', () => {
  // Three-byte characters and a surrogate pair, in a body of about 5.9 MB, past the scratch buffer a worker keeps.
  const rows = Array.from({ length: 30 }, (_, index) =>
    row(`0190a5b2-7c3d-7e4f-8a1b-${String(index).padStart(12, '0')}`, `${'日'.repeat(65_000)}🔐${index}`),
  )
  const { received, movedBytes } = acrossPort({ kind: 'prepared', events: rows.map((r) => ({ kind: 'event', row: r, clientId: false })) })
  const expected = rows.map((r) => `${JSON.stringify(r)}\n`)
  assert.deepEqual(linesOf(received), expected)
  assert.equal(movedBytes, Buffer.byteLength(expected.join('')) + 4 * rows.length)
})
