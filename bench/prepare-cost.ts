/**
 * Times each step a preparation worker takes on the load generator's
 * request bodies of 500 events: UTF-8 decoding and JSON.parse of the body,
 * validation into rows, and `toWire`, which serializes the rows into JSON
 * lines. Each step runs over the same bodies in turn, timed by the
 * process's CPU time, and is reported in µs an event.
 *
 * Run: npx tsc -p . && node dist/bench/prepare-cost.js
 */
import { bodyText, parseCandidates, type BodyFormat } from '../src/ingest/http/body.js'
import { prepareBody } from '../src/ingest/http/prepare-body.js'
import { toWire } from '../src/ingest/http/prepare-wire.js'
import { prepareCandidates, type PrepareContext, type PreparedEvent } from '../src/ingest/prepare.js'
import type { Candidate } from '../src/ingest/types.js'
import { EventValidator } from '../src/schema/validate.js'
import { RequestPool } from './workers/request-pool.js'

const BODIES = 40
const EVENTS = 500
const ROUNDS = 600
const FORMAT: BodyFormat = 'json'

const validator = new EventValidator({ max_event_age: 7 * 86_400_000, max_future: 300_000, strict_mode: true })
const context: PrepareContext = { tenantId: 'bench', sourceIp: '127.0.0.1', sourceFormat: 'json', maxQuarantineRaw: 65_536 }
const limits = { maxPayloadSize: 10 * 1024 * 1024, maxBatchSize: 1000 }
const pool = new RequestPool(7, BODIES, EVENTS, Date.now(), 'bench-')
const bodies = Array.from({ length: BODIES }, (_, index) => pool.build(index).body)
const candidates: Candidate[][] = bodies.map((body) => parseCandidates(bodyText(body), FORMAT))
const prepared: PreparedEvent[][] = candidates.map((list) => prepareCandidates(list, validator, context))
if (prepared.some((list) => list.some((event) => event.kind !== 'event'))) throw new Error('a generated event did not validate')

/** Returns the CPU µs an event that `ROUNDS` calls of `step` take, each call on the next body. */
function microsPerEvent(step: (index: number) => void): number {
  const started = process.cpuUsage()
  for (let round = 0; round < ROUNDS; round++) step(round % BODIES)
  const used = process.cpuUsage(started)
  return (used.user + used.system) / (ROUNDS * EVENTS)
}

/** Returns the same figure for a step that returns a promise, awaited before the next call. */
async function microsPerEventAsync(step: (index: number) => Promise<void>): Promise<number> {
  const started = process.cpuUsage()
  for (let round = 0; round < ROUNDS; round++) await step(round % BODIES)
  const used = process.cpuUsage(started)
  return (used.user + used.system) / (ROUNDS * EVENTS)
}

const bytesPerEvent = bodies.reduce((sum, body) => sum + body.length, 0) / (BODIES * EVENTS)
console.log(`${BODIES} bodies of ${EVENTS} events, ${bytesPerEvent.toFixed(0)} bytes an event; CPU µs an event:`)
for (let pass = 1; pass <= 3; pass++) {
  const parse = microsPerEvent((index) => void parseCandidates(bodyText(bodies[index] as Buffer), FORMAT))
  const validate = microsPerEvent((index) => void prepareCandidates(candidates[index] as Candidate[], validator, context))
  const wire = microsPerEvent((index) => void toWire({ kind: 'prepared', events: prepared[index] as PreparedEvent[] }))
  const whole = await microsPerEventAsync(async (index) => {
    const input = { body: bodies[index] as Buffer, contentEncoding: undefined, format: FORMAT, context }
    toWire(await prepareBody(input, validator, limits))
  })
  console.log(
    `pass ${pass}: parse ${parse.toFixed(2)}, validate ${validate.toFixed(2)}, toWire ${wire.toFixed(2)}, ` +
      `all three through prepareBody ${whole.toFixed(2)} (${((whole * EVENTS) / 1000).toFixed(2)} ms a body)`,
  )
}
