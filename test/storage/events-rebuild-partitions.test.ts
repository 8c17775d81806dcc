import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import type { Storage } from '../../src/storage/client.js'
import { loadMigrations, runMigrations } from '../../src/storage/migrator.js'
import { freshDataDir } from '../support/app.js'
import { closeTestStorage, openTestStorage, readRows } from '../support/storage.js'

// An installation with retention.events_days above 100 keeps more than 100
// daily partitions of `events`, and migration 004 copies them all with one
// INSERT ... SELECT. ClickHouse rejects an insert block that spans more than
// max_partitions_per_insert_block partitions (100 by default), so the
// migration lifts that limit for the copy.

const root = freshDataDir('siem-rebuild-partitions-')
const logger = pino({ level: 'silent' })
const DAYS = 150
const ROWS = 30_000
let storage: Storage

before(async () => {
  storage = await openTestStorage(root)
  await runMigrations(storage.client, logger, loadMigrations().filter((m) => m.version < 4))
  // Start-up does this for retention.events_days: 365.
  await storage.client.command({ query: 'ALTER TABLE events MODIFY TTL toDateTime(timestamp) + INTERVAL 365 DAY DELETE' })
  // The setup inserts 50 days at a time, so that it stays within the limit itself.
  const perDay = ROWS / DAYS
  for (let firstDay = 0; firstDay < DAYS; firstDay += 50) {
    await storage.client.command({
      query: `INSERT INTO events (event_id, tenant_id, timestamp, source_product, action, outcome, actor_type, severity, raw)
        SELECT generateUUIDv4(number), 'tenant-a', now64(6) - toIntervalSecond(intDiv(number * 86400, ${perDay})),
          'openssh', 'auth.login', 'success', 'user', toUInt8(number % 10 + 1), concat('line ', toString(number))
        FROM numbers(${firstDay * perDay}, ${50 * perDay})`,
    })
  }
})

after(() => closeTestStorage(storage, root))

function rows<T>(query: string): Promise<T[]> {
  return readRows<T>(storage.client, query)
}

test('rebuild copies 150 days of events', async () => {
  const [days] = await rows<{ n: string }>('SELECT uniqExact(toDate(timestamp)) AS n FROM events')
  assert.ok(Number(days?.n) > 100, `setup made ${days?.n} days`)

  const report = await runMigrations(storage.client, logger, loadMigrations().filter((m) => m.version <= 4))
  assert.deepEqual(report.applied, ['004_events_sort_by_time.sql'])
  // A merge before start-up applies the retention must not drop days that the 365-day TTL keeps.
  await storage.client.command({ query: 'OPTIMIZE TABLE events FINAL' })
  const [stored] = await rows<{ n: string; u: string }>('SELECT count() AS n, uniqExact(event_id) AS u FROM events')
  assert.equal(Number(stored?.n), ROWS)
  assert.equal(Number(stored?.u), ROWS)
  const views = await rows<{ name: string }>(
    "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'MaterializedView' ORDER BY name",
  )
  assert.deepEqual(views.map((v) => v.name), ['events_critical_mv', 'events_hourly_mv'])
})
