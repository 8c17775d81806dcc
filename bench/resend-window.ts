/**
 * Times what a restart adds to start-up to rebuild the re-send window: the
 * query of `loadRecentEventIds` over a large `events` table, with the
 * `received_at` skip index of migration 005 and without it.
 *
 * Run: npx tsc -p . && node dist/bench/resend-window.js [--rows 20000000] [--recent 600000] [--runs 3]
 *
 * The table gets `--rows` events received over the last 30 days, inserted a
 * million at a time as a steady ingest would, then `--recent` events
 * received over the last 5 minutes. It prints the median time of counting
 * the events of the last 10 minutes and of loading the newest 500,000 ids
 * among them, and the granules the skip index let ClickHouse read.
 *
 * The engine in chdb also prunes parts by column statistics without the
 * index, and a table that fits in the page cache reads fast either way, so
 * at 20 million rows the times come out alike. The granules read are the
 * figure that grows with the table: without the index every part inserted
 * over the retention period is read at each start.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import { openStorage, type Storage } from '../src/storage/client.js'
import { runMigrations } from '../src/storage/migrator.js'
import { loadRecentEventIds } from '../src/storage/recent-event-ids.js'
import { median } from './support/stats.js'
import { freshDataDir } from '../test/support/app.js'
import { rmSync } from 'node:fs'
import { join } from 'node:path'

const WINDOW_MS = 10 * 60_000
const LIMIT = 500_000
const DAY_SECONDS = 86_400
/** Three tenants and eight products, so that the sort key does not keep `received_at` in order. */
const TENANT = `concat('tenant-', toString(number % 3))`
const PRODUCT = `concat('product-', toString(intHash32(number) % 8))`
/** The time from an event to its receipt, up to 5 minutes. */
const DELAY = 'intHash32(number + 1) % 300'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000000' },
    recent: { type: 'string', default: '600000' },
    runs: { type: 'string', default: '3' },
  },
})
const rows = Number(values.rows)
const recent = Number(values.recent)
const runs = Math.max(1, Number(values.runs))

async function fill(storage: Storage): Promise<void> {
  const chunk = 1_000_000
  for (let start = 0; start < rows; start += chunk) {
    const count = Math.min(chunk, rows - start)
    // received_at runs from 30 days ago to 10 minutes ago, and the event time is up to 5 minutes earlier.
    const ageSeconds = `(30 * ${DAY_SECONDS} - 600) * (1 - (${start} + number) / ${rows}) + 600`
    await storage.client.command({
      query: `INSERT INTO events (event_id, tenant_id, timestamp, received_at, source_product, action, raw, metadata)
        SELECT generateUUIDv4(number), ${TENANT}, now64(6) - toIntervalSecond(${ageSeconds} + ${DELAY}), now64(6) - toIntervalSecond(${ageSeconds}),
          ${PRODUCT}, 'auth.login', 'Failed password for root', '{}'
        FROM numbers(${count})`,
    })
  }
  await storage.client.command({
    query: `INSERT INTO events (event_id, tenant_id, timestamp, received_at, source_product, action, raw, metadata)
      SELECT generateUUIDv4(number), ${TENANT}, now64(6) - toIntervalSecond(${DELAY}), now64(6) - toIntervalMillisecond(number * 300000 / ${Math.max(1, recent)}),
        ${PRODUCT}, 'auth.login', 'Failed password for root', '{}'
      FROM numbers(${recent})`,
  })
}

/** Runs `task` `runs` times and returns the median time and the last result. */
async function timed(task: () => Promise<unknown>): Promise<{ ms: number; result: unknown }> {
  const times: number[] = []
  let result: unknown
  for (let run = 0; run < runs; run++) {
    const started = performance.now()
    result = await task()
    times.push(performance.now() - started)
  }
  return { ms: Math.round(median(times)), result }
}

async function text(storage: Storage, query: string): Promise<string> {
  const result = await storage.client.query({ query, format: 'TabSeparated' })
  return result.text()
}

async function measure(storage: Storage, label: string): Promise<void> {
  const since = Date.now() - WINDOW_MS
  const where = `received_at >= fromUnixTimestamp64Milli(${since}, 'UTC')`
  const counted = await timed(() => text(storage, `SELECT count() FROM events WHERE ${where}`))
  const loaded = await timed(() => loadRecentEventIds(storage.client, since, LIMIT))
  const plan = await text(storage, `EXPLAIN indexes = 1 SELECT count() FROM events WHERE ${where}`)
  const skip = /Name: idx_received_at[\s\S]*?Granules: (\d+\/\d+)/.exec(plan)?.[1] ?? 'no skip index used'
  const ids = (loaded.result as unknown[]).length
  process.stdout.write(
    `${label}: count of the last 10 minutes ${counted.ms} ms (${String(counted.result).trim()} events), ` +
      `load of ${ids} ids ${loaded.ms} ms, granules read by the skip index: ${skip}\n`,
  )
}

const root = freshDataDir('siem-bench-resend-')
const config = loadConfig({ env: {}, overrides: { storage: { data_dir: join(root, 'clickhouse') } } })
const storage = await openStorage(config.storage)
try {
  await runMigrations(storage.client, createLogger({ level: 'silent' }))
  const started = performance.now()
  await fill(storage)
  const [parts] = (await text(storage, "SELECT count() FROM system.parts WHERE active AND table = 'events'")).split('\n')
  process.stdout.write(`filled ${rows + recent} events in ${parts} parts in ${Math.round((performance.now() - started) / 1000)} s; median of ${runs} runs\n`)
  await measure(storage, 'with the index')
  await storage.client.command({ query: 'ALTER TABLE events DROP INDEX idx_received_at' })
  await measure(storage, 'without it')
} finally {
  await storage.close()
  rmSync(root, { recursive: true, force: true })
}
