/**
 * Times `parseRfc3339`, which reads characters by position, against the
 * regular-expression parser it replaced, on 1000 timestamps with six
 * fraction digits and `Z`, as the benchmark's events carry. Each runs in
 * turn, timed by the process's CPU time.
 *
 * Run: npx tsc -p . && node dist/bench/timestamp-parse.js
 */
import { parseRfc3339 } from '../src/schema/timestamp.js'
import { parseRfc3339WithRegex } from './reference/rfc3339-regex.js'

const TIMESTAMPS = 1000
const ROUNDS = 2000

const now = Date.now()
const texts = Array.from({ length: TIMESTAMPS }, (_, index) => {
  const iso = new Date(now - index * 61_123).toISOString()
  return `${iso.slice(0, -1)}${String(index % 1000).padStart(3, '0')}Z`
})

/** Returns the CPU nanoseconds one parse takes, after a warm-up. */
function cpuNanosPerParse(parse: (text: string) => number | undefined): number {
  let sum = 0
  for (let round = 0; round < 200; round++) for (const text of texts) sum += parse(text) ?? 0
  const before = process.cpuUsage()
  for (let round = 0; round < ROUNDS; round++) for (const text of texts) sum += parse(text) ?? 0
  const used = process.cpuUsage(before)
  if (sum === 0) throw new Error('every timestamp failed to parse')
  return ((used.user + used.system) * 1000) / (ROUNDS * TIMESTAMPS)
}

for (let pass = 1; pass <= 3; pass++) {
  const regex = cpuNanosPerParse(parseRfc3339WithRegex)
  const positional = cpuNanosPerParse(parseRfc3339)
  console.log(`pass ${pass}: regular expression ${regex.toFixed(0)} ns a timestamp, by position ${positional.toFixed(0)} ns`)
}
