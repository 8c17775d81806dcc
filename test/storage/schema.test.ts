import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { WriterMetrics } from '../../src/metrics/pipeline-metrics.js'
import { MemoryQueue } from '../../src/queue/memory-queue.js'
import type { EventRow, QuarantineRow } from '../../src/schema/event.js'
import { BatchWriter } from '../../src/storage/batch-writer.js'
import { classifyInsertError } from '../../src/storage/retry-policy.js'
import { parseTtlDays } from '../../src/storage/retention.js'
import { ClickHouseRowSink } from '../../src/storage/row-sink.js'
import { countRows, queryRows, startTestApp, waitFor, type TestApp } from '../support/app.js'

const RETENTION = { events_days: 2, critical_days: 3, quarantine_days: 1 }
const DAY_MS = 86_400_000

let app: TestApp
let sink: ClickHouseRowSink

before(async () => {
  app = await startTestApp({ retention: RETENTION })
  sink = new ClickHouseRowSink(app.app.storage.client)
})

after(async () => {
  await app.close()
})

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0')
}

/** ClickHouse DateTime64(6) text for a time `agoMs` before now, with a fixed fraction. */
function timeAgo(agoMs: number, micros = 654_321): string {
  const iso = new Date(Date.now() - agoMs).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${pad(micros, 6)}`
}

function eventRow(product: string, overrides: Partial<EventRow> = {}): EventRow {
  return {
    event_id: randomUUID(),
    tenant_id: 'schema-test',
    timestamp: timeAgo(60_000),
    received_at: timeAgo(0),
    source_product: product,
    source_host: 'h',
    source_instance_id: '',
    source_version: '',
    actor_type: 'user',
    actor_id: 'alice',
    actor_name: '',
    actor_email: '',
    actor_ip: '',
    action: 'auth.login',
    target: 't',
    outcome: 'success',
    severity: 5,
    schema_version: '1.0.0',
    raw: 'raw',
    metadata: '{}',
    ...overrides,
  }
}

function quarantineRow(tag: string, quarantinedAt: string): QuarantineRow {
  return {
    quarantine_id: randomUUID(),
    quarantined_at: quarantinedAt,
    tenant_id: 'schema-test',
    raw_event: tag,
    source_ip: '127.0.0.1',
    source_format: 'json',
    validation_errors: ['timestamp: timestamp is required (missing_field)'],
    error_code: 'missing_field',
  }
}

interface HourlyTotals {
  events: string
  severity_sum: string
  severity_max: number
}

async function hourlyTotals(product: string): Promise<HourlyTotals[]> {
  return queryRows<HourlyTotals>(
    app.app,
    `SELECT sum(event_count) AS events, sum(severity_sum) AS severity_sum, max(severity_max) AS severity_max
     FROM events_hourly WHERE source_product = {product:String}
     GROUP BY tenant_id, hour, source_product, action, outcome`,
    { product },
  )
}

describe('embedded ClickHouse schema', () => {
  test('answers a ping', async () => {
    const result = await app.app.storage.client.ping()
    assert.equal(result.success, true)
  })

  test('rollup keeps a true maximum across inserts', async () => {
    const product = `rollup-${randomUUID()}`
    const hour = timeAgo(3600_000).slice(0, 13)
    await sink.insert('events', [eventRow(product, { severity: 7, timestamp: `${hour}:10:00.000001` })], randomUUID())
    await sink.insert('events', [eventRow(product, { severity: 9, timestamp: `${hour}:50:00.999999` })], randomUUID())
    assert.deepEqual(await hourlyTotals(product), [{ events: '2', severity_sum: '16', severity_max: 9 }])

    // After a merge the stored row itself contains max 9 and sum 16, not a sum of maxima.
    await app.app.storage.client.command({ query: 'OPTIMIZE TABLE events_hourly FINAL' })
    const merged = await queryRows<Record<string, unknown>>(
      app.app,
      'SELECT event_count, severity_sum, severity_max FROM events_hourly WHERE source_product = {product:String}',
      { product },
    )
    assert.deepEqual(merged, [{ event_count: '2', severity_sum: '16', severity_max: 9 }])
  })

  test('rollup groups by hour, action and outcome', async () => {
    const product = `rollup-${randomUUID()}`
    const hour = timeAgo(2 * 3600_000).slice(0, 13)
    const previousHour = timeAgo(3 * 3600_000).slice(0, 13)
    await sink.insert(
      'events',
      [
        eventRow(product, { severity: 3, timestamp: `${hour}:00:00.000000` }),
        eventRow(product, { severity: 4, timestamp: `${hour}:59:59.999999` }),
        eventRow(product, { severity: 10, timestamp: `${previousHour}:30:00.000000` }),
        eventRow(product, { severity: 2, timestamp: `${hour}:30:00.000000`, outcome: 'failure' }),
      ],
      randomUUID(),
    )
    const totals = await hourlyTotals(product)
    assert.deepEqual(
      totals.map((row) => [row.events, row.severity_sum, row.severity_max]).sort(),
      [
        ['1', '10', 10],
        ['1', '2', 2],
        ['2', '7', 4],
      ],
    )
  })

  test('critical copy holds exactly the events with severity 8 or more', async () => {
    const product = `critical-${randomUUID()}`
    const rows = Array.from({ length: 10 }, (_, index) => eventRow(product, { severity: index + 1 }))
    await sink.insert('events', rows, randomUUID())
    const critical = await queryRows<{ event_id: string; severity: number; raw: string; actor_id: string }>(
      app.app,
      'SELECT event_id, severity, raw, actor_id FROM events_critical WHERE source_product = {product:String} ORDER BY severity',
      { product },
    )
    assert.deepEqual(
      critical.map((row) => [row.event_id, row.severity]),
      rows.filter((row) => row.severity >= 8).map((row) => [row.event_id, row.severity]),
    )
    assert.equal(critical[0]?.raw, 'raw')
    assert.equal(critical[0]?.actor_id, 'alice')
  })

  test('a batch inserted twice with its token is stored once in every table', async () => {
    const product = `dedup-${randomUUID()}`
    const rows = [eventRow(product, { severity: 9 }), eventRow(product, { severity: 2 }), eventRow(product, { severity: 8 })]
    const token = `${randomUUID()}:events`
    await sink.insert('events', rows, token)
    await sink.insert('events', rows, token)
    const where = `source_product = '${product}'`
    assert.equal(await countRows(app.app, 'events', where), 3)
    assert.equal(await countRows(app.app, 'events_critical', where), 2)
    assert.deepEqual(await hourlyTotals(product), [{ events: '3', severity_sum: '19', severity_max: 9 }])

    // The token is what deduplicates: the same rows under another token are stored again.
    await sink.insert('events', rows, `${randomUUID()}:events`)
    assert.equal(await countRows(app.app, 'events', where), 6)
    assert.equal(await countRows(app.app, 'events_critical', where), 4)
  })

  test('a quarantine batch inserted twice with its token is stored once', async () => {
    const tag = `dedup-${randomUUID()}`
    const rows = [quarantineRow(tag, timeAgo(0)), quarantineRow(tag, timeAgo(0))]
    const token = `${randomUUID()}:quarantine`
    await sink.insert('events_quarantine', rows, token)
    await sink.insert('events_quarantine', rows, token)
    assert.equal(await countRows(app.app, 'events_quarantine', `raw_event = '${tag}'`), 2)
  })

  test('keeps microseconds of DateTime64 values', async () => {
    const product = `micros-${randomUUID()}`
    const timestamp = timeAgo(5000, 1)
    await sink.insert('events', [eventRow(product, { timestamp })], randomUUID())
    const [row] = await queryRows<{ timestamp: string; micros: string }>(
      app.app,
      'SELECT timestamp, toUnixTimestamp64Micro(timestamp) % 1000000 AS micros FROM events WHERE source_product = {product:String}',
      { product },
    )
    assert.equal(row?.timestamp, timestamp)
    assert.equal(row?.micros, '1')
  })
})

describe('retention', () => {
  test('start-up applies the configured TTL to every table', async () => {
    const tables = await queryRows<{ name: string; create_table_query: string }>(
      app.app,
      "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() AND name IN ('events', 'events_hourly', 'events_critical', 'events_quarantine')",
    )
    const days = Object.fromEntries(tables.map((table) => [table.name, parseTtlDays(table.create_table_query)]))
    assert.deepEqual(days, { events: 2, events_hourly: 2, events_critical: 3, events_quarantine: 1 })
  })

  test('rows past the TTL are gone after a forced TTL merge', async () => {
    // ClickHouse drops rows that are already expired when they are inserted,
    // so these rows expire 2 s after the insert, while they are stored.
    const soon = 2000
    const product = `ttl-${randomUUID()}`
    const fresh = eventRow(product, { timestamp: timeAgo(DAY_MS), severity: 9 })
    const expiring = eventRow(product, { timestamp: timeAgo(2 * DAY_MS - soon), severity: 9 })
    const criticalExpiring = eventRow(product, { timestamp: timeAgo(3 * DAY_MS - soon), severity: 10 })
    const inserted = Date.now()
    await sink.insert('events', [fresh, expiring], randomUUID())
    const { event_id, tenant_id, timestamp, source_product, action, actor_id, target, severity, raw } = criticalExpiring
    const criticalRow = { event_id, tenant_id, timestamp, source_product, action, actor_id, target, severity, raw }
    await app.app.storage.client.insert({ table: 'events_critical', values: [criticalRow], format: 'JSONEachRow' })
    const tag = `ttl-${randomUUID()}`
    await sink.insert('events_quarantine', [quarantineRow(tag, timeAgo(0)), quarantineRow(`${tag}-old`, timeAgo(DAY_MS - soon))], randomUUID())

    const where = `source_product = '${product}'`
    const ids = async (table: string): Promise<string[]> =>
      (await queryRows<{ event_id: string }>(app.app, `SELECT event_id FROM ${table} WHERE ${where} ORDER BY timestamp DESC`)).map((row) => row.event_id)
    assert.deepEqual(await ids('events'), [fresh.event_id, expiring.event_id])
    assert.deepEqual(await ids('events_critical'), [fresh.event_id, expiring.event_id, criticalExpiring.event_id])
    assert.equal(await countRows(app.app, 'events_quarantine', `startsWith(raw_event, '${tag}')`), 2)

    // Wait past the expiry (TTL has one-second resolution), then force the TTL merges.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, inserted + soon + 1100 - Date.now())))
    for (const table of ['events', 'events_critical', 'events_quarantine']) {
      await app.app.storage.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` })
    }
    assert.deepEqual(await ids('events'), [fresh.event_id], 'events keep 2 days')
    assert.deepEqual(await ids('events_critical'), [fresh.event_id, expiring.event_id], 'the critical copy keeps 3 days')
    assert.equal(await countRows(app.app, 'events_quarantine', `raw_event = '${tag}'`), 1)
    assert.equal(await countRows(app.app, 'events_quarantine', `raw_event = '${tag}-old'`), 0, 'quarantine keeps 1 day')
  })
})

describe('writer on the real engine', () => {
  test('a row ClickHouse refuses is a row-data error', async () => {
    const bad = { ...eventRow('refused'), event_id: 'not-a-uuid' }
    const failure = await sink.insert('events', [bad], randomUUID()).then(
      () => undefined,
      (err: unknown) => err,
    )
    assert.ok(failure !== undefined, 'the insert fails')
    assert.equal(classifyInsertError(failure).kind, 'row_data')
    const enumFailure = await sink.insert('events', [{ ...eventRow('refused'), actor_type: 'robot' }], randomUUID()).then(
      () => undefined,
      (err: unknown) => err,
    )
    assert.equal(classifyInsertError(enumFailure).kind, 'row_data')
  })

  test('refused rows become storage_rejected', async () => {
    const logger = pino({ level: 'silent' })
    const queue = new MemoryQueue({
      config: {
        type: 'memory',
        max_events: 1000,
        max_bytes: 1024 ** 3,
        overflow_policy: 'reject',
        block_timeout: 1000,
        retry_after: 1000,
        spool: { dir: '', segment_size: 0, max_bytes: 0, fsync: false, group_commit_delay: 0 },
      },
      logger,
    })
    const writer = new BatchWriter({
      config: { batch_size: 6, max_batch_size: 6, flush_interval: 50, idle_flush: 0, idle_flush_min_rows: 1, concurrency: 1, retry_initial_delay: 10, retry_max_delay: 100 },
      queue,
      sink,
      metrics: new WriterMetrics(new Registry()),
      logger,
    })
    writer.start()
    try {
      const product = `bisect-${randomUUID()}`
      const rows = Array.from({ length: 6 }, () => eventRow(product))
      const bad = { ...eventRow(product), event_id: `bad-${randomUUID()}` }
      rows.splice(3, 0, bad)
      await queue.enqueue(rows.map((row) => ({ table: 'events', row })), { ack: 'committed' })
      assert.equal(await countRows(app.app, 'events', `source_product = '${product}'`), 6)
      const quarantined = await waitFor(
        () =>
          queryRows<{ error_code: string; raw_event: string; validation_errors: string[]; tenant_id: string }>(
            app.app,
            "SELECT error_code, raw_event, validation_errors, tenant_id FROM events_quarantine WHERE error_code = 'storage_rejected' AND position(raw_event, {id:String}) > 0",
            { id: bad.event_id },
          ),
        (found) => found.length === 1,
      )
      assert.deepEqual(JSON.parse(quarantined[0]?.raw_event ?? ''), bad)
      assert.equal(quarantined[0]?.tenant_id, 'schema-test')
      assert.match(quarantined[0]?.validation_errors[0] ?? '', /UUID/)
    } finally {
      queue.drain()
      await writer.stop(1000)
      await queue.close()
    }
  })
})
