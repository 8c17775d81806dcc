/**
 * Compares two ways a preparation worker can write a body's rows as JSON
 * lines into one buffer. The first measures each line's UTF-8 length and
 * writes into a buffer of the exact size. The second, which `toWire` uses,
 * writes into a scratch buffer that is sure to be large enough and copies
 * the bytes used. Each runs in turn over the same 500-row bodies of
 * generated events, timed by the process's CPU time so that other load on
 * the machine counts less.
 *
 * Run: npx tsc -p . && node dist/bench/line-write.js
 */
import type { EventRow } from '../src/schema/event.js'
import { generateRowBatches } from './model/validated-rows.js'

const BODIES = 20
const EVENTS = 500
const ROUNDS = 3000

function measuredThenWritten(rows: readonly EventRow[]): ArrayBuffer {
  const texts: string[] = []
  let total = 0
  for (const row of rows) {
    const text = JSON.stringify(row)
    texts.push(text)
    total += Buffer.byteLength(text) + 1
  }
  const lines = new ArrayBuffer(total)
  const view = Buffer.from(lines)
  let offset = 0
  for (const text of texts) {
    offset += view.write(text, offset)
    view[offset++] = 0x0a
  }
  return lines
}

let scratch = Buffer.alloc(0)

function scratchThenCopied(rows: readonly EventRow[]): ArrayBuffer {
  const texts: string[] = []
  let units = 0
  for (const row of rows) {
    const text = JSON.stringify(row)
    texts.push(text)
    units += text.length + 1
  }
  if (scratch.length < units * 3) scratch = Buffer.allocUnsafeSlow(units * 3)
  let offset = 0
  for (const text of texts) {
    offset += scratch.write(text, offset)
    scratch[offset++] = 0x0a
  }
  return scratch.buffer.slice(scratch.byteOffset, scratch.byteOffset + offset) as ArrayBuffer
}

function stringifyOnly(rows: readonly EventRow[]): number {
  let length = 0
  for (const row of rows) length += JSON.stringify(row).length
  return length
}

/** Returns the CPU microseconds a row that `write` takes, after a warm-up. */
function cpuMicrosPerRow(bodies: EventRow[][], write: (rows: readonly EventRow[]) => unknown): number {
  for (let round = 0; round < 100; round++) write(bodies[round % BODIES] as EventRow[])
  const before = process.cpuUsage()
  for (let round = 0; round < ROUNDS; round++) write(bodies[round % BODIES] as EventRow[])
  const used = process.cpuUsage(before)
  return (used.user + used.system) / (ROUNDS * EVENTS)
}

const bodies = generateRowBatches(1, BODIES, EVENTS)
for (let pass = 1; pass <= 3; pass++) {
  const measured = cpuMicrosPerRow(bodies, measuredThenWritten)
  const copied = cpuMicrosPerRow(bodies, scratchThenCopied)
  const stringify = cpuMicrosPerRow(bodies, stringifyOnly)
  console.log(
    `pass ${pass}: measure then write ${measured.toFixed(2)} µs a row, scratch then copy ${copied.toFixed(2)} µs, ` +
      `JSON.stringify alone ${stringify.toFixed(2)} µs`,
  )
}
