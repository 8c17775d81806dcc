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
