import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import type { EventRow } from '../../src/schema/event.js'
import type { Storage } from '../../src/storage/client.js'
import { loadMigrations, runMigrations, type Migration } from '../../src/storage/migrator.js'
import { ClickHouseRowSink } from '../../src/storage/row-sink.js'
import { freshDataDir } from '../support/app.js'
import { closeTestStorage, openTestStorage, readRows } from '../support/storage.js'

// Migration 004 copies `events` into a table with another sort key and swaps
// the two. These tests start from a database that has only 001 to 003, with
// events in it, like an installation of the previous version.

const root = freshDataDir('siem-rebuild-')
const logger = pino({ level: 'silent' })
const REBUILD_VERSION = 4
let storage: Storage
let sink: ClickHouseRowSink
let rebuild: Migration

before(async () => {
  storage = await openTestStorage(root)
  sink = new ClickHouseRowSink(storage.client)
  const shipped = loadMigrations()
  rebuild = shipped.find((m) => m.version === REBUILD_VERSION) as Migration
  await runMigrations(
    storage.client,
    logger,
    shipped.filter((m) => m.version < REBUILD_VERSION),
  )
})

after(() => closeTestStorage(storage, root))

function rows<T>(query: string): Promise<T[]> {
  return readRows<T>(storage.client, query)
}

async function count(query: string): Promise<number> {
  const [row] = await rows<{ n: string }>(query)
  return Number(row?.n)
}

const PRODUCTS = ['openssh', 'nginx', 'sudo']

/** ClickHouse DateTime64(6) text `agoMs` before now, with microseconds. */
function timeAgo(agoMs: number, micros: number): string {
  const iso = new Date(Date.now() - agoMs).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros).padStart(6, '0')}`
}

/** Builds events over three days for one tenant. Every tenth is critical. */
function events(n: number, tenant: string): EventRow[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: randomUUID(),
    tenant_id: tenant,
    timestamp: timeAgo((i * 7_919_000) % (3 * 86_400_000), (i * 37) % 1_000_000),
    received_at: timeAgo(0, i % 1_000_000),
    source_product: PRODUCTS[i % PRODUCTS.length] as string,
    source_host: `host-${i % 5}`,
    source_instance_id: `instance-${i % 3}`,
    source_version: '1.0',
    actor_type: i % 2 === 0 ? 'user' : 'process',
    actor_id: `user-${i % 11}`,
    actor_name: `User ${i % 11}`,
    actor_email: i % 4 === 0 ? `user-${i % 11}@example.com` : '',
    actor_ip: `192.0.2.${i % 250}`,
    action: i % 3 === 0 ? 'auth.failure' : 'auth.login',
    target: `ssh:host-${i % 5}`,
    outcome: i % 3 === 0 ? 'failure' : 'success',
    severity: i % 10 === 0 ? 9 : i % 8,
    schema_version: '1.0.0',
    raw: `line ${i} from host-${i % 5}`,
    metadata: JSON.stringify({ pid: 1000 + i }),
  }))
}

/** Reads every stored event and rollup figure in a fixed order, for comparing before and after. */
async function snapshot(): Promise<unknown> {
  return {
    events: await rows('SELECT * FROM events ORDER BY event_id'),
    critical: await rows('SELECT * FROM events_critical ORDER BY event_id'),
    hourly: await rows(
      `SELECT tenant_id, source_product, action, outcome, hour, sum(event_count) AS events, sum(severity_sum) AS severity_sum,
       max(severity_max) AS severity_max FROM events_hourly GROUP BY ALL ORDER BY ALL`,
    ),
  }
}

async function sortingKey(): Promise<string> {
  const [row] = await rows<{ sorting_key: string }>(
    "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'events'",
  )
  return row?.sorting_key ?? ''
}

/** Returns the shipped migrations up to 004, so that this file tests 004 alone. */
function upToRebuild(): Migration[] {
  return loadMigrations().filter((m) => m.version <= REBUILD_VERSION)
}

async function runStatements(statements: readonly string[]): Promise<void> {
  for (const statement of statements) await storage.client.command({ query: statement })
}

describe('migration 004: events sorted by time', () => {
  let before004: unknown

  test('rebuild keeps every stored row', async () => {
    await sink.insert('events', events(3000, 'tenant-a'), `${randomUUID()}:events`)
    await sink.insert('events', events(1000, 'tenant-b'), `${randomUUID()}:events`)
    assert.equal(await sortingKey(), 'tenant_id, source_product, toStartOfHour(timestamp), event_id')
    before004 = await snapshot()

    const report = await runMigrations(storage.client, logger, upToRebuild())
    assert.deepEqual(report.applied, [rebuild.name])

    assert.equal(await sortingKey(), 'tenant_id, source_product, timestamp, event_id')
    // The copy went into a table without views, so the critical copy and the rollup count no event twice.
    assert.deepEqual(await snapshot(), before004)
    assert.equal(await count("SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'events_rebuild'"), 0)
  })

  test('views feed from the new table', async () => {
    const product = `after-${randomUUID()}`
    const fresh = events(20, 'tenant-c').map((row) => ({ ...row, source_product: product }))
    const token = `${randomUUID()}:events`
    await sink.insert('events', fresh, token)
    await sink.insert('events', fresh, token)
    const where = `WHERE source_product = '${product}'`
    assert.equal(await count(`SELECT count() AS n FROM events ${where}`), 20, 'the same token is still stored once')
    assert.equal(await count(`SELECT count() AS n FROM events_critical ${where}`), 2)
    assert.equal(await count(`SELECT sum(event_count) AS n FROM events_hourly ${where}`), 20)
    await storage.client.command({ query: `ALTER TABLE events DELETE ${where} SETTINGS mutations_sync = 1` })
    await storage.client.command({ query: `ALTER TABLE events_critical DELETE ${where} SETTINGS mutations_sync = 1` })
    await storage.client.command({ query: `ALTER TABLE events_hourly DELETE ${where} SETTINGS mutations_sync = 1` })
  })

  test('rebuild reruns after a crash anywhere', async () => {
    const statements = rebuild.statements
    for (let done = 1; done < statements.length; done++) {
      // A crash after `done` statements, then a start that runs the whole file again.
      await runStatements(statements.slice(0, done))
      await runStatements(statements)
      assert.deepEqual(await snapshot(), before004, `after a crash at statement ${done + 1}`)
      assert.equal(await sortingKey(), 'tenant_id, source_product, timestamp, event_id')
    }
  })
})
