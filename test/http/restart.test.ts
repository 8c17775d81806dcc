import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { loadMigrations } from '../../src/storage/migrator.js'
import { parseTtlDays } from '../../src/storage/retention.js'
import { countRows, freshDataDir, queryRows, startTestApp, waitFor, type TestApp } from '../support/app.js'
import { postEvents } from './request.js'

async function ttlDays(app: TestApp): Promise<Record<string, number | undefined>> {
  const tables = await queryRows<{ name: string; create_table_query: string }>(
    app.app,
    "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() AND name IN ('events', 'events_hourly', 'events_critical', 'events_quarantine')",
  )
  return Object.fromEntries(tables.map((table) => [table.name, parseTtlDays(table.create_table_query)]))
}

test('data and a changed retention survive a restart on the same directory', async () => {
  const dataDir = freshDataDir()
  const tag = randomUUID()
  const eventId = randomUUID()
  const timestamp = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, '.123456789+00:00')

  const first = await startTestApp({}, dataDir)
  assert.deepEqual(await ttlDays(first), { events: 90, events_hourly: 90, events_critical: 365, events_quarantine: 30 })
  const response = await postEvents(first.url, {
    events: [
      { event_id: eventId, timestamp, source: { product: 'restart' }, action: 'auth.lockout', severity: 9, target: tag },
      { target: tag },
    ],
  })
  assert.equal(response.status, 207)
  await waitFor(() => countRows(first.app, 'events_quarantine', `position(raw_event, '${tag}') > 0`), (n) => n === 1)
  await waitFor(() => countRows(first.app, 'events', `target = '${tag}'`), (n) => n === 1)
  const before = await queryRows(first.app, 'SELECT * FROM events WHERE event_id = {id:UUID}', { id: eventId })
  assert.equal(await first.close({ keepData: true }), true)

  const second = await startTestApp({ retention: { events_days: 30, critical_days: 100, quarantine_days: 7 } }, dataDir)
  try {
    const after = await queryRows(second.app, 'SELECT * FROM events WHERE event_id = {id:UUID}', { id: eventId })
    assert.deepEqual(after, before)
    assert.equal((after[0] as Record<string, unknown>)['timestamp'], timestamp.slice(0, 10) + ' ' + timestamp.slice(11, 26))
    assert.equal(await countRows(second.app, 'events_critical', `event_id = '${eventId}'`), 1)
    assert.equal(await countRows(second.app, 'events_quarantine', `position(raw_event, '${tag}') > 0`), 1)
    const [hourly] = await queryRows<{ c: string }>(second.app, "SELECT sum(event_count) AS c FROM events_hourly WHERE source_product = 'restart'")
    assert.equal(hourly?.c, '1')

    assert.deepEqual(await ttlDays(second), { events: 30, events_hourly: 30, events_critical: 100, events_quarantine: 7 })
    assert.equal(await countRows(second.app, 'schema_migrations'), loadMigrations().length, 'migrations are not applied twice')

    const again = await postEvents(second.url, { events: [{ timestamp: new Date().toISOString(), source: { product: 'restart' }, action: 'auth.login', target: tag }] })
    assert.equal(again.status, 200)
    await waitFor(() => countRows(second.app, 'events', `target = '${tag}'`), (n) => n === 2)
  } finally {
    await second.close()
  }
})
