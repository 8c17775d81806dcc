/**
 * Times what the main thread does with an event that passes through the
 * spool's backlog: writing it into a data record, reading the record back,
 * and copying the row into an insert body. The rows are the load
 * generator's bodies of 500 events, prepared and sent as a worker sends
 * them. The framed items of `encodeDataRecord` and `decodeDataItems` run
 * against the JSON array that records held before
 * (`bench/reference/spool-json-items.ts`). Timed by the process's CPU time,
 * in µs an event.
 *
 * Run: npx tsc -p . && node dist/bench/spool-record-cost.js
 */
import { bodyText, parseCandidates } from '../src/ingest/http/body.js'
import { fromWire, toWire } from '../src/ingest/http/prepare-wire.js'
import { prepareCandidates, type PrepareContext } from '../src/ingest/prepare.js'
import { RECORD_HEADER_BYTES, RecordType, decodeDataItems, encodeDataRecord } from '../src/queue/spool/record.js'
import type { QueueItem } from '../src/schema/event.js'
import { EventValidator } from '../src/schema/validate.js'
import { jsonEachRowBody } from '../src/storage/json-lines.js'
import { decodeJsonItems, encodeJsonItems } from './reference/spool-json-items.js'
import { RequestPool } from './workers/request-pool.js'

const BODIES = 40
const EVENTS = 500
/** Bodies in one insert: 20,000 rows, the writer's batch size. */
const BODIES_AN_INSERT = 40
const ROUNDS = 300

const validator = new EventValidator({ max_event_age: 7 * 86_400_000, max_future: 300_000, strict_mode: true })
const context: PrepareContext = { tenantId: 'bench', sourceIp: '127.0.0.1', sourceFormat: 'json', maxQuarantineRaw: 65_536 }
const pool = new RequestPool(7, BODIES, EVENTS, Date.now(), 'bench-')
const bodies: QueueItem[][] = Array.from({ length: BODIES }, (_, index) => {
  const events = prepareCandidates(parseCandidates(bodyText(Buffer.from(pool.build(index).body)), 'json'), validator, context)
  const received = fromWire(toWire({ kind: 'prepared', events }).outcome)
  if (received.kind !== 'prepared') throw new Error('a generated body was not prepared')
  return received.events.map((event): QueueItem => {
    if (event.kind !== 'event') throw new Error('a generated event did not validate')
    return { table: 'events', row: event.row }
  })
})

/** Returns the CPU µs an event of `ROUNDS` inserts, each built from `BODIES_AN_INSERT` records written and read back. */
function microsPerEvent(roundTrip: (items: QueueItem[]) => QueueItem[]): number {
  const started = process.cpuUsage()
  for (let round = 0; round < ROUNDS; round++) {
    const rows: object[] = []
    for (let index = 0; index < BODIES_AN_INSERT; index++) {
      for (const item of roundTrip(bodies[(round + index) % BODIES] as QueueItem[])) rows.push(item.row)
    }
    jsonEachRowBody(rows)
  }
  const used = process.cpuUsage(started)
  return (used.user + used.system) / (ROUNDS * BODIES_AN_INSERT * EVENTS)
}

function framed(items: QueueItem[]): QueueItem[] {
  const record = Buffer.concat(encodeDataRecord({ firstSeq: 0, enqueuedAt: 0, count: items.length }, items).parts)
  return decodeDataItems(record.subarray(RECORD_HEADER_BYTES), RecordType.data)
}

function jsonArray(items: QueueItem[]): QueueItem[] {
  return decodeJsonItems(encodeJsonItems(items))
}

console.log(`${BODIES} bodies of ${EVENTS} events, inserts of ${BODIES_AN_INSERT * EVENTS} rows; CPU µs an event:`)
for (let pass = 1; pass <= 3; pass++) {
  console.log(`pass ${pass}: framed items ${microsPerEvent(framed).toFixed(2)}, JSON array ${microsPerEvent(jsonArray).toFixed(2)}`)
}
