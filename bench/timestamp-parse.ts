/**
 * Times `parseRfc3339`, which reads characters by position, against the
 * regular-expression parser it replaced, on 1000 timestamps with six
 * fraction digits and `Z`, as the benchmark's events carry. Then it times
 * `formatClickHouseMicros` against the Date-based formatter it replaced, on
 * the same instants, which span 17 hours. Each runs in turn, timed by the
 * process's CPU time.
 *
 * Run: npx tsc -p . && node dist/bench/timestamp-parse.js
 */
import { formatClickHouseMicros, parseRfc3339 } from '../src/schema/timestamp.js'
import { formatClickHouseMicrosWithDate } from './reference/clickhouse-time-date.js'
import { parseRfc3339WithRegex } from './reference/rfc3339-regex.js'

const TIMESTAMPS = 1000
const ROUNDS = 2000

const now = Date.now()
const texts = Array.from({ length: TIMESTAMPS }, (_, index) => {
  const iso = new Date(now - index * 61_123).toISOString()
  return `${iso.slice(0, -1)}${String(index % 1000).padStart(3, '0')}Z`
})

const instants = texts.map((text) => parseRfc3339(text) as number)

/** Returns the CPU nanoseconds one call of `step` takes on each of `inputs`, after a warm-up. */
function cpuNanosPerCall<T>(inputs: readonly T[], step: (input: T) => number | string | undefined): number {
  let sum = 0
  for (let round = 0; round < 200; round++) for (const input of inputs) sum += step(input) === undefined ? 0 : 1
  const before = process.cpuUsage()
  for (let round = 0; round < ROUNDS; round++) for (const input of inputs) sum += step(input) === undefined ? 0 : 1
  const used = process.cpuUsage(before)
  if (sum === 0) throw new Error('every call returned undefined')
  return ((used.user + used.system) * 1000) / (ROUNDS * inputs.length)
}

for (let pass = 1; pass <= 3; pass++) {
  const regex = cpuNanosPerCall(texts, parseRfc3339WithRegex)
  const positional = cpuNanosPerCall(texts, parseRfc3339)
  const withDate = cpuNanosPerCall(instants, formatClickHouseMicrosWithDate)
  const withDayKept = cpuNanosPerCall(instants, formatClickHouseMicros)
  console.log(
    `pass ${pass}: parse with a regular expression ${regex.toFixed(0)} ns a timestamp, by position ${positional.toFixed(0)} ns; ` +
      `format through a Date ${withDate.toFixed(0)} ns, with the day kept ${withDayKept.toFixed(0)} ns`,
  )
}
