/**
 * Measures what a preparation worker's reply costs to post: a body's 500
 * events as one object an event, against an id array and a Uint32Array of
 * line lengths, through `node:v8` serialize and deserialize (the structured
 * clone a message uses). It also times JSON.stringify of the rows with and
 * without a WeakMap cache of the text, as `rowJson` keeps one.
 *
 * Run: npx tsc -p . && node dist/bench/wire-cost.js
 */
import { randomUUID } from 'node:crypto'
import { deserialize, serialize } from 'node:v8'
import { loadConfig } from '../src/config/load.js'
import type { EventRow } from '../src/schema/event.js'
import { nowMicros } from '../src/schema/timestamp.js'
import { EventValidator } from '../src/schema/validate.js'
import { EventGenerator } from './model/js-generator.js'

const EVENTS = 500
const ROUNDS = 200

function rows(count: number): EventRow[] {
  const generator = new EventGenerator(1)
  const validator = new EventValidator(loadConfig({ env: {} }).validation)
  const now = Date.now()
  const out: EventRow[] = []
  for (let i = 0; i < count; i++) {
    const result = validator.validate({ value: { event_id: randomUUID(), ...generator.next(now, 60_000) }, rawText: '', tenantId: generator.nextTenant(), receivedAt: nowMicros() })
    if (!result.ok) throw new Error(`generated event is invalid: ${JSON.stringify(result.errors)}`)
    out.push(result.row)
  }
  return out
}

function millisecondsPerRound(run: () => void): number {
  const started = performance.now()
  for (let round = 0; round < ROUNDS; round++) run()
  return (performance.now() - started) / ROUNDS
}

const body = rows(EVENTS)
const objects = body.map((row, index) => ({ kind: 'event', offset: index * 800, bytes: 800, eventId: row.event_id, clientId: true }))
const eventIds = body.map((row) => row.event_id)
const layout = new Uint32Array(EVENTS).fill(800)
const many = rows(20_000)

for (let pass = 0; pass < 3; pass++) {
  const asObjects = millisecondsPerRound(() => deserialize(serialize({ kind: 'prepared', events: objects })))
  const asArrays = millisecondsPerRound(() => deserialize(serialize({ kind: 'prepared', eventIds, layout })))
  let started = performance.now()
  for (const row of many) JSON.stringify(row)
  const plain = ((performance.now() - started) * 1000) / many.length
  const cache = new WeakMap<object, string>()
  started = performance.now()
  for (const row of many) cache.set(row, JSON.stringify(row))
  const cached = ((performance.now() - started) * 1000) / many.length
  console.log(
    `pass ${pass + 1}: clone of ${EVENTS} events ${asObjects.toFixed(3)} ms as objects, ${asArrays.toFixed(3)} ms as arrays; ` +
      `JSON.stringify ${plain.toFixed(2)} µs a row, ${cached.toFixed(2)} µs with the WeakMap cache`,
  )
}
