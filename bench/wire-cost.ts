/**
 * Measures what a preparation worker's reply costs to post: a body's 500
 * events as one object an event, against an id array and a Uint32Array of
 * line lengths, through `node:v8` serialize and deserialize (the structured
 * clone a message uses). It also times JSON.stringify of the rows with and
 * without a WeakMap cache of the text, as `rowJson` keeps one.
 *
 * Run: npx tsc -p . && node dist/bench/wire-cost.js
 */
import { deserialize, serialize } from 'node:v8'
import type { EventRow } from '../src/schema/event.js'
import { generateRowBatches } from './model/validated-rows.js'

const EVENTS = 500
const ROUNDS = 200

function millisecondsPerRound(run: () => void): number {
  const started = performance.now()
  for (let round = 0; round < ROUNDS; round++) run()
  return (performance.now() - started) / ROUNDS
}

const body = generateRowBatches(1, 1, EVENTS)[0] as EventRow[]
const objects = body.map((row, index) => ({ kind: 'event', offset: index * 800, bytes: 800, eventId: row.event_id, clientId: true }))
const eventIds = body.map((row) => row.event_id)
const layout = new Uint32Array(EVENTS).fill(800)
const many = generateRowBatches(1, 1, 20_000)[0] as EventRow[]

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
