import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeDataItems, encodeDataRecord, RECORD_HEADER_BYTES, type RecordTypeCode } from '../../src/queue/spool/record.js'
import { estimateItemBytes } from '../../src/queue/types.js'
import type { EventRow, QueueItem } from '../../src/schema/event.js'
import { rowJson } from '../../src/schema/row-json.js'
import { SerializedEventRow } from '../../src/schema/serialized-row.js'
import { makeEvent, recordBytes } from '../queue/support/spool-helpers.js'

const ROW: EventRow = {
  ...makeEvent('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b'),
  raw: 'Failed password for root from 203.0.113.7 port 52311 ssh2 — "quoted"',
  metadata: '{"port":52311}',
}

test('serialized row reads every column', () => {
  const row = SerializedEventRow.fromJson(JSON.stringify(ROW), ROW.event_id)
  for (const column of Object.keys(ROW) as Array<keyof EventRow>) assert.equal(row[column], ROW[column], column)
})

test('serialized row stringifies to its text', () => {
  const json = JSON.stringify(ROW)
  const row = SerializedEventRow.fromJson(json, ROW.event_id)
  assert.equal(rowJson(row), json)
  assert.equal(JSON.stringify(row), json)
  assert.deepEqual(JSON.parse(JSON.stringify({ row })), { row: ROW })
})

test('spool record text matches plain rows', () => {
  const plain: QueueItem[] = [{ table: 'events', row: ROW }]
  const serialized: QueueItem[] = [{ table: 'events', row: SerializedEventRow.fromJson(JSON.stringify(ROW), ROW.event_id) }]
  const header = { firstSeq: 1, enqueuedAt: 0, count: 1 }
  const fromPlain = recordBytes(encodeDataRecord(header, plain))
  assert.deepEqual(recordBytes(encodeDataRecord(header, serialized)), fromPlain)
  const decoded = decodeDataItems(fromPlain.subarray(RECORD_HEADER_BYTES), fromPlain.readUInt8(2) as RecordTypeCode)
  const row = decoded[0]?.row
  assert.ok(row instanceof SerializedEventRow, 'a row read back is a view of its line')
  assert.equal(row.line.toString('utf8'), `${JSON.stringify(ROW)}\n`)
  assert.equal(row.event_id, ROW.event_id)
})

test('queue sizes serialized row without parsing', () => {
  const json = JSON.stringify(ROW)
  const row = SerializedEventRow.fromJson(json, ROW.event_id)
  assert.equal(estimateItemBytes({ table: 'events', row }), 200 + Buffer.byteLength(json))
  // Reading a column would have parsed the text; toJSON shows whether it was.
  let parsed = false
  const original = row.toJSON.bind(row)
  row.toJSON = () => {
    parsed = true
    return original()
  }
  estimateItemBytes({ table: 'events', row })
  rowJson(row)
  assert.equal(parsed, false)
})

/** Wraps the row's toJSON to record whether it ran, which shows the reads that parse the text. */
function watched(row: SerializedEventRow): { row: SerializedEventRow; parsed: () => boolean } {
  let parsed = false
  const original = row.toJSON.bind(row)
  row.toJSON = () => {
    parsed = true
    return original()
  }
  return { row, parsed: () => parsed }
}

test('event id read from line', () => {
  const { row, parsed } = watched(SerializedEventRow.fromJson(JSON.stringify(ROW)))
  assert.equal(row.event_id, ROW.event_id)
  assert.equal(row.eventIdBytes, 36)
  const target = Buffer.alloc(40)
  assert.equal(row.writeEventId(target, 2), 36)
  assert.equal(target.toString('latin1', 2, 38), ROW.event_id)
  assert.equal(parsed(), false)
})

test('rows of one body share its buffer', () => {
  const lines = Buffer.from(`${JSON.stringify(ROW)}\n${JSON.stringify({ ...ROW, event_id: '0190a5b2-7c3d-7e4f-8a1b-000000000002' })}\n`)
  const first = Buffer.byteLength(JSON.stringify(ROW)) + 1
  const rows = [new SerializedEventRow(lines, 0, first), new SerializedEventRow(lines, first, lines.length)]
  assert.deepEqual(
    rows.map((row) => row.event_id),
    [ROW.event_id, '0190a5b2-7c3d-7e4f-8a1b-000000000002'],
  )
  assert.equal(rows[1]?.line.toString('utf8'), `${JSON.stringify({ ...ROW, event_id: '0190a5b2-7c3d-7e4f-8a1b-000000000002' })}\n`)
  assert.equal(rows[1]?.jsonBytes, lines.length - first - 1)
})

test('event id not first in line', () => {
  const { event_id: eventId, ...rest } = ROW
  const reordered = JSON.stringify({ ...rest, event_id: eventId })
  const { row, parsed } = watched(SerializedEventRow.fromJson(reordered))
  assert.equal(row.event_id, eventId)
  assert.equal(parsed(), true)
  // An id of 36 characters that JSON escapes is not read from the bytes as they are.
  for (const odd of [`${'a'.repeat(35)}"`, `${'a'.repeat(35)}\\`, `${'a'.repeat(34)}é`]) {
    const escaped = SerializedEventRow.fromJson(JSON.stringify({ ...ROW, event_id: odd }))
    assert.equal(escaped.event_id, odd)
    const target = Buffer.alloc(64)
    const written = escaped.writeEventId(target, 0)
    assert.equal(target.toString('utf8', 0, written), odd)
    assert.equal(escaped.eventIdBytes, written)
  }
})

test('spool record of unprefixed lines', () => {
  const odd = `${'a'.repeat(35)}é`
  const rows = [SerializedEventRow.fromJson(JSON.stringify({ ...ROW, event_id: odd })), SerializedEventRow.fromJson(JSON.stringify(ROW))]
  const bytes = recordBytes(encodeDataRecord({ firstSeq: 1, enqueuedAt: 0, count: 2 }, rows.map((row) => ({ table: 'events', row }))))
  const decoded = decodeDataItems(bytes.subarray(RECORD_HEADER_BYTES), bytes.readUInt8(2) as RecordTypeCode)
  assert.deepEqual(
    decoded.map((item) => (item.table === 'events' ? item.row.event_id : '')),
    [odd, ROW.event_id],
  )
})

test('event id kept apart', () => {
  const rowWithId = SerializedEventRow.fromJson(JSON.stringify(ROW), 'd-ü')
  assert.equal(rowWithId.event_id, 'd-ü')
  assert.equal(rowWithId.eventIdBytes, Buffer.byteLength('d-ü'))
  // Through a spool record and back, the id stays the one the row was given.
  const header = { firstSeq: 1, enqueuedAt: 0, count: 2 }
  const bytes = recordBytes(encodeDataRecord(header, [{ table: 'events', row: rowWithId }, { table: 'events', row: SerializedEventRow.fromJson(JSON.stringify(ROW)) }]))
  const decoded = decodeDataItems(bytes.subarray(RECORD_HEADER_BYTES), bytes.readUInt8(2) as RecordTypeCode)
  assert.deepEqual(
    decoded.map((item) => (item.table === 'events' ? item.row.event_id : '')),
    ['d-ü', ROW.event_id],
  )
})
