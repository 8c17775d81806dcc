import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ClickHouseClient } from '@clickhouse/client'
import { loadConfig } from '../../src/config/load.js'
import { nowMicros } from '../../src/schema/timestamp.js'
import { EventValidator } from '../../src/schema/validate.js'
import { loadMigrations } from '../../src/storage/migrator.js'
import { ClickHouseRowSink } from '../../src/storage/row-sink.js'
import { startTestApp, waitFor, type TestApp } from '../support/app.js'
import { readRows as rows } from '../support/storage.js'
import { startClickHouseStack, type ClickHouseStack } from './support/clickhouse-stack.js'
import { makeEvents, type InputEvent } from './support/events.js'
import { clientReader, readStoredState } from './support/stored-events.js'

let stack: ClickHouseStack
const apps: TestApp[] = []

before(async () => {
  stack = await startClickHouseStack()
})

after(async () => {
  for (const app of apps) await app.close()
  await stack.close()
})

/** Starts the whole service in server mode on `database` of the test server, with the disk spool. */
async function startServerModeApp(database: string, overrides: Record<string, unknown> = {}): Promise<TestApp> {
  const app = await startTestApp({
    storage: { mode: 'server', server: { url: stack.server.url, database, request_timeout: '5s' } },
    queue: { type: 'spool' },
    writer: { retry_initial_delay: '20ms', retry_max_delay: '200ms' },
    ...overrides,
  })
  apps.push(app)
  return app
}

async function post(url: string, events: unknown[], ack = 'durable'): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/events?ack=${ack}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
    signal: AbortSignal.timeout(20_000),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}


async function count(client: ClickHouseClient, query: string): Promise<number> {
  const [row] = await rows<{ n: string }>(client, query)
  return Number(row?.n ?? -1)
}

describe('server mode end to end', () => {
  test('migrates, ingests and reads over HTTP', async () => {
    const database = 'siem_e2e'
    const direct = stack.directTo(database)
    const app = await startServerModeApp(database)
    assert.equal(app.app.storage.mode, 'server')

    const tables = await rows<{ name: string }>(direct, `SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`)
    const names = tables.map((table) => table.name)
    for (const name of ['events', 'events_critical', 'events_critical_mv', 'events_hourly', 'events_hourly_mv', 'events_quarantine', 'schema_migrations']) {
      assert.ok(names.includes(name), `table ${name} missing from ${database}: ${names.join(', ')}`)
    }
    const applied = await rows<{ name: string }>(direct, 'SELECT name FROM schema_migrations ORDER BY version')
    assert.deepEqual(
      applied.map((row) => row.name),
      loadMigrations().map((migration) => migration.name),
    )

    const events = makeEvents(200, 'server_e2e')
    const reply = await post(app.url, events, 'committed')
    assert.equal(reply.status, 200)
    assert.equal(reply.body['accepted'], 200)
    const invalid = await post(app.url, [{ action: 'not valid' }], 'committed')
    assert.equal(invalid.status, 400)

    const state = await readStoredState(clientReader(direct), 'server_e2e')
    assert.deepEqual([...state.events.keys()].sort(), events.map((event) => event.event_id).sort())
    assert.equal(state.critical.size, events.filter((event) => event.severity >= 8).length)
    assert.equal(state.hourlyEventCount, 200)
    const [first] = await rows<Record<string, unknown>>(direct, `SELECT action, severity, target, source_host FROM events WHERE event_id = '${events[0]?.event_id}'`)
    assert.deepEqual(first, { action: 'auth.login', severity: 1, target: 'target-0', source_host: 'host-0' })
    assert.equal(await count(direct, `SELECT count() AS n FROM events_quarantine WHERE position(raw_event, 'not valid') > 0`), 1)

    const sql = await fetch(`${app.url}/v1/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: "SELECT count() AS n FROM events WHERE source_product = 'server_e2e'" }),
    })
    assert.equal(sql.status, 200)
    assert.deepEqual(((await sql.json()) as { rows: unknown[] }).rows, [{ n: '200' }])
  })

  test('stores text beyond ASCII unchanged', async () => {
    const database = 'siem_utf8'
    const direct = stack.directTo(database)
    const app = await startServerModeApp(database)
    // Two-, three- and four-byte UTF-8, and characters JSON must escape.
    const target = 'Zürich サーバー 🔐 "quoted" back\\slash\ttab'
    const [event] = makeEvents(1, 'server_utf8')
    const reply = await post(app.url, [{ ...event, target }], 'committed')
    assert.equal(reply.status, 200)
    const [stored] = await rows<{ target: string }>(direct, `SELECT target FROM events WHERE event_id = '${event?.event_id}'`)
    assert.equal(stored?.target, target)
  })

  test('row sink skips empty and aborted inserts', async () => {
    const database = 'siem_sink'
    const direct = stack.directTo(database)
    const app = await startServerModeApp(database)
    const sink = new ClickHouseRowSink(app.app.storage.client)
    const validator = new EventValidator(loadConfig({ env: {} }).validation)
    const result = validator.validate({ value: makeEvents(1, 'server_sink')[0], rawText: '', tenantId: 'default', receivedAt: nowMicros() })
    assert.ok(result.ok)

    // A server rejects an INSERT without rows, so the sink must not send one.
    await sink.insert('events', [], 'empty-batch')
    const aborted = new AbortController()
    aborted.abort(new Error('writer stopping'))
    await assert.rejects(sink.insert('events', [result.row], 'aborted-batch', aborted.signal), /writer stopping/)
    assert.equal(await count(direct, "SELECT count() AS n FROM events WHERE source_product = 'server_sink'"), 0)

    await sink.insert('events', [result.row], 'stored-batch')
    assert.equal(await count(direct, "SELECT count() AS n FROM events WHERE source_product = 'server_sink'"), 1)
  })

  test('second start skips applied migrations', async () => {
    const database = 'siem_e2e'
    const direct = stack.directTo(database)
    const before = await count(direct, "SELECT count() AS n FROM events WHERE source_product = 'server_e2e'")
    const app = await startServerModeApp(database)
    const reply = await post(app.url, makeEvents(10, 'server_e2e'), 'committed')
    assert.equal(reply.status, 200)
    assert.equal(await count(direct, 'SELECT count() AS n FROM schema_migrations'), loadMigrations().length)
    assert.equal(await count(direct, "SELECT count() AS n FROM events WHERE source_product = 'server_e2e'"), before + 10)
  })
})

async function queueDepth(url: string): Promise<number> {
  const response = await fetch(`${url}/health`)
  const body = (await response.json()) as { queue: { depth_events: number } }
  return body.queue.depth_events
}

interface QuarantineRow {
  raw_event: string
  error_code: string
  validation_errors: string[]
}

/** Sends `events` in one request with a committed ack and returns what each table contains of them afterwards. */
async function ingestAndRead(app: TestApp, direct: ClickHouseClient, product: string, events: InputEvent[]) {
  const reply = await post(app.url, events, 'committed')
  assert.equal(reply.status, 200, `ingest responded with ${reply.status}: ${JSON.stringify(reply.body)}`)
  // A committed ack comes once the batch is committed; the queue is empty by then unless the writer is stuck.
  assert.equal(app.app.storage.mode, 'server')
  await waitFor(async () => queueDepth(app.url), (depth) => depth === 0)
  const state = await readStoredState(clientReader(direct), product)
  const quarantined = await rows<QuarantineRow>(
    direct,
    `SELECT raw_event, error_code, validation_errors FROM events_quarantine WHERE position(raw_event, '${product}') > 0`,
  )
  return { state, quarantined }
}

describe('rows ClickHouse rejects', () => {
  test('unparsable rows go to quarantine, the rest is stored', async () => {
    const database = 'siem_rejects'
    const product = 'rejected_rows'
    const direct = stack.directTo(database)
    const app = await startServerModeApp(database)
    // From now on a target that is not a number fails to parse on the server (CANNOT_PARSE_INPUT_ASSERTION_FAILED).
    await direct.command({ query: 'ALTER TABLE events MODIFY COLUMN target UInt32' })

    const events = makeEvents(40, product)
    const bad = new Set([3, 17, 18, 39])
    events.forEach((event, index) => {
      event.target = bad.has(index) ? `not-a-number-${index}` : String(1000 + index)
    })
    const { state, quarantined } = await ingestAndRead(app, direct, product, events)

    const good = events.filter((_, index) => !bad.has(index)).map((event) => event.event_id)
    const rejected = events.filter((_, index) => bad.has(index)).map((event) => event.event_id)
    assert.deepEqual([...state.events.keys()].sort(), [...good].sort())
    assert.deepEqual([...state.events.values()].filter((n) => n !== 1), [])
    assert.equal(quarantined.length, rejected.length)
    for (const id of rejected) {
      const row = quarantined.find((entry) => entry.raw_event.includes(id))
      assert.ok(row !== undefined, `event ${id} is neither stored nor quarantined`)
      assert.equal(row.error_code, 'storage_rejected')
      assert.equal(row.validation_errors.length, 1)
      assert.match(row.validation_errors[0] ?? '', /ClickHouse refused the row: Cannot parse input/)
    }
    const failed = await app.app.registry.getSingleMetricAsString('siem_writer_rows_failed_total')
    assert.match(failed, new RegExp(`siem_writer_rows_failed_total\\{table="events"\\} ${rejected.length}\\b`))
  })

  test('rows violating a CHECK constraint go to quarantine', async () => {
    const database = 'siem_constraint'
    const product = 'constraint_rows'
    const direct = stack.directTo(database)
    const app = await startServerModeApp(database)
    // The server rejects such rows with VIOLATED_CONSTRAINT; severities cycle 1..10, so 3 of 30 have 7.
    await direct.command({ query: 'ALTER TABLE events ADD CONSTRAINT severity_not_7 CHECK severity != 7' })

    const events = makeEvents(30, product)
    const { state, quarantined } = await ingestAndRead(app, direct, product, events)

    const good = events.filter((event) => event.severity !== 7).map((event) => event.event_id)
    assert.deepEqual([...state.events.keys()].sort(), [...good].sort())
    assert.equal(quarantined.length, 3)
    for (const row of quarantined) {
      assert.equal(row.error_code, 'storage_rejected')
      assert.match(row.validation_errors[0] ?? '', /Constraint `severity_not_7`/)
    }
  })
})
