import assert from 'node:assert/strict'
import { test } from 'node:test'
import { crc32 } from 'node:zlib'
import {
  RECORD_HEADER_BYTES,
  RecordType,
  SpoolRecordError,
  decodeDataHeader,
  decodeDataItems,
  encodeDataRecord,
} from '../../src/queue/spool/record.js'
import type { QueueItem } from '../../src/schema/event.js'
import { SerializedEventRow } from '../../src/schema/serialized-row.js'
import { makeEvent, plainItems, recordBytes } from './support/spool-helpers.js'

const QUARANTINE: QueueItem = {
  table: 'quarantine',
  row: {
    quarantine_id: '00000000-0000-4000-8000-000000000002',
    quarantined_at: '2026-04-15 10:00:00.000000',
    tenant_id: 'acme',
    raw_event: 'not json — "quoted"',
    source_ip: '127.0.0.1',
    source_format: 'json',
    validation_errors: ['(event): not JSON (malformed_json)'],
    error_code: 'malformed_json',
  },
}

function serialized(eventId: string): QueueItem {
  return { table: 'events', row: SerializedEventRow.fromJson(JSON.stringify(makeEvent(eventId)), eventId) }
}

/** Returns the payload of a record, as the reader hands it over. */
function payloadOf(record: Buffer): Buffer {
  return record.subarray(RECORD_HEADER_BYTES)
}

test('framed items read back as lines and rows', () => {
  const items: QueueItem[] = [
    serialized('a-0'),
    { table: 'events', row: { ...makeEvent('b-0'), raw: 'non-ASCII: é ✓ 𝄞', id_from_sender: false } },
    QUARANTINE,
    serialized('a-1'),
  ]
  const record = recordBytes(encodeDataRecord({ firstSeq: 12, enqueuedAt: 34, count: items.length }, items))
  assert.equal(record.readUInt8(2), RecordType.data)
  assert.deepEqual(decodeDataHeader(payloadOf(record)), { firstSeq: 12, enqueuedAt: 34, count: 4 })
  const decoded = decodeDataItems(payloadOf(record), RecordType.data)
  assert.deepEqual(plainItems(decoded), plainItems(items))
  for (const [index, item] of decoded.entries()) {
    if (item.table !== 'events') continue
    assert.ok(item.row instanceof SerializedEventRow)
    assert.equal(item.row.event_id, (items[index]?.row as { event_id: string }).event_id)
  }
})

test('lines of a record follow each other', () => {
  const items = ['a-0', 'a-1', 'a-2'].map(serialized)
  const record = recordBytes(encodeDataRecord({ firstSeq: 0, enqueuedAt: 0, count: items.length }, items))
  const lines = decodeDataItems(payloadOf(record), RecordType.data).map((item) => (item.row as SerializedEventRow).line)
  for (let index = 1; index < lines.length; index++) {
    const previous = lines[index - 1] as Buffer
    assert.equal(lines[index]?.byteOffset, previous.byteOffset + previous.length)
  }
})

test('inconsistent items fail with SpoolRecordError', () => {
  const record = recordBytes(encodeDataRecord({ firstSeq: 0, enqueuedAt: 0, count: 2 }, [serialized('a-0'), serialized('a-1')]))
  const payload = Buffer.from(payloadOf(record))
  const cases: Array<[string, (copy: Buffer) => void]> = [
    ['a count beyond the entries', (copy) => copy.writeUInt32LE(9, 16)],
    ['a text longer than the record', (copy) => copy.writeUInt32LE(0xffff_ff, 20 + 3)],
    ['an unknown table code', (copy) => copy.writeUInt8(7, 20)],
    ['bytes after the last item', (copy) => copy.writeUInt32LE(1, 16)],
  ]
  for (const [name, damage] of cases) {
    const copy = Buffer.from(payload)
    damage(copy)
    assert.throws(() => decodeDataItems(copy, RecordType.data), SpoolRecordError, name)
  }
})

test('a record checksum covers the framed items', () => {
  const record = recordBytes(encodeDataRecord({ firstSeq: 0, enqueuedAt: 0, count: 1 }, [serialized('a-0')]))
  const crc = crc32(record.subarray(RECORD_HEADER_BYTES), crc32(record.subarray(0, 8)))
  assert.equal(record.readUInt32LE(8), crc)
})

test('record parts view adjacent lines', () => {
  const lines = Buffer.from(['a-0', 'a-1', 'a-2'].map((id) => `${JSON.stringify(makeEvent(id))}\n`).join(''))
  const items: QueueItem[] = []
  let offset = 0
  for (const id of ['a-0', 'a-1', 'a-2']) {
    const length = Buffer.byteLength(`${JSON.stringify(makeEvent(id))}\n`)
    items.push({ table: 'events', row: new SerializedEventRow(lines, offset, offset + length, id) })
    offset += length
  }
  items.push({ table: 'events', row: makeEvent('b-0') }, QUARANTINE)
  const record = encodeDataRecord({ firstSeq: 0, enqueuedAt: 0, count: items.length }, items)
  assert.equal(record.parts.length, 3, 'framing, one run of lines, one buffer for the other texts')
  assert.equal(record.parts[1]?.buffer, lines.buffer, 'the lines are not copied')
  assert.equal(record.parts[1]?.length, lines.length)
  assert.equal(record.length, recordBytes(record).length)
  assert.deepEqual(plainItems(decodeDataItems(payloadOf(recordBytes(record)), RecordType.data)), plainItems(items))
})
