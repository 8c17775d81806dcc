/**
 * Times the re-send window's claim of new ids in its steady state, full and
 * evicting one id for each one it adds, as on the main thread at the
 * maximum rate: `RecentIds` against the layout before it
 * (`bench/reference/recent-ids-probe-words.ts`).
 *
 * Run: npx tsc -p . && node dist/bench/recent-ids.js [--capacity 500000] [--claims 3000000] [--runs 3]
 *
 * The ids are random UUID strings made before the timing, so it measures
 * the parse, the lookup, the eviction and the insertion. Each run fills a
 * new window first. It prints the median of the runs in ns a claim.
 */
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { RecentIds } from '../src/ingest/recent-ids.js'
import { RecentIdsProbingWords } from './reference/recent-ids-probe-words.js'
import { median } from './support/stats.js'

interface Window {
  claim(tenant: string, id: string, now: number): boolean
}

const { values } = parseArgs({
  options: {
    capacity: { type: 'string', default: '500000' },
    claims: { type: 'string', default: '3000000' },
    runs: { type: 'string', default: '3' },
  },
})
const capacity = Number(values.capacity)
const claims = Number(values.claims)
const runs = Math.max(1, Number(values.runs))
const MAX_AGE_MS = 600_000
const TENANTS = ['tenant-a', 'tenant-b', 'tenant-c']

const ids = Array.from({ length: capacity + claims }, () => randomUUID())

function timeClaims(make: () => Window): number {
  const window = make()
  for (let index = 0; index < capacity; index++) window.claim(TENANTS[index % 3] as string, ids[index] as string, index / 100)
  const started = process.hrtime.bigint()
  let fresh = 0
  for (let index = capacity; index < capacity + claims; index++) {
    if (window.claim(TENANTS[index % 3] as string, ids[index] as string, index / 100)) fresh++
  }
  const elapsed = Number(process.hrtime.bigint() - started)
  if (fresh !== claims) throw new Error(`only ${fresh} of ${claims} new ids were claimed`)
  return elapsed / claims
}

const variants: Array<[string, () => Window]> = [
  ['hash in the table (RecentIds)', () => new RecentIds(capacity, MAX_AGE_MS)],
  ['words read on each probe (before)', () => new RecentIdsProbingWords(capacity, MAX_AGE_MS)],
]
const results = new Map<string, number[]>()
// Alternating, so that a change in the machine's load reaches both.
for (let run = 0; run < runs; run++) {
  for (const [name, make] of variants) {
    const list = results.get(name) ?? []
    list.push(timeClaims(make))
    results.set(name, list)
  }
}
process.stdout.write(`window of ${capacity} ids, ${claims} claims of new ids, median of ${runs} runs\n`)
for (const [name, times] of results) process.stdout.write(`  ${name}: ${median(times).toFixed(0)} ns a claim\n`)
