import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { hashApiKey } from '../../src/http/auth.js'
import { countRows, startTestApp, waitFor, type TestApp } from '../support/app.js'
import { errorCode, postEvents, request, sessionSetting, type JsonResponse } from './request.js'

const ADMIN_KEY = 'admin-key-for-tests'
const INGEST_KEY = 'ingest-key-for-tests'
const MAX_ROWS = 50

let app: TestApp

before(async () => {
  app = await startTestApp({
    auth: {
      api_keys: [
        { name: 'admin', sha256: hashApiKey(ADMIN_KEY), tenant: 'ops', roles: ['admin'] },
        { name: 'ingest', sha256: hashApiKey(INGEST_KEY), tenant: 'ops', roles: ['ingest'] },
      ],
    },
    query: { max_rows: MAX_ROWS, timeout: '1s' },
  })
})

after(async () => {
  await app.close()
})

function sql(query: unknown, key: string | null = ADMIN_KEY): Promise<JsonResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key !== null) headers['x-api-key'] = key
  return request(`${app.url}/v1/sql`, { method: 'POST', headers, body: JSON.stringify({ query }) })
}

function assertRefused(response: JsonResponse, status: number, code: string): void {
  assert.equal(response.status, status, response.text)
  assert.equal(errorCode(response), code, response.text)
  assert.equal(typeof response.body['request_id'], 'string')
}

async function storeOneEvent(): Promise<void> {
  const tag = randomUUID()
  const event = { timestamp: new Date().toISOString(), source: { product: 'sql-test' }, action: 'auth.login', target: tag }
  const response = await postEvents(app.url, { events: [event] }, { 'x-api-key': INGEST_KEY })
  assert.equal(response.status, 200, response.text)
  await waitFor(() => countRows(app.app, 'events', `target = '${tag}'`), (n) => n === 1)
}

describe('POST /v1/sql', () => {
  test('returns rows as objects', async () => {
    await storeOneEvent()
    const response = await sql("SELECT count() AS c, 'x' AS s FROM events WHERE source_product = 'sql-test'")
    assert.equal(response.status, 200, response.text)
    assert.deepEqual(response.body['rows'], [{ c: '1', s: 'x' }])
    assert.equal(response.body['row_count'], 1)
    assert.equal(typeof response.body['elapsed_ms'], 'number')
    assert.equal(typeof response.body['request_id'], 'string')
  })

  test('keeps UInt64 values exact', async () => {
    const response = await sql('SELECT toUInt64(18446744073709551615) AS big')
    assert.deepEqual(response.body['rows'], [{ big: '18446744073709551615' }])
  })

  test('accepts the read statements and a trailing semicolon or comment', async () => {
    for (const query of ['SHOW TABLES', 'DESCRIBE TABLE events', 'EXISTS TABLE events', 'EXPLAIN SELECT 1', 'WITH 2 AS x SELECT x', 'SELECT 1;', 'SELECT 1 -- note']) {
      const response = await sql(query)
      assert.equal(response.status, 200, `${query}: ${response.text}`)
    }
  })

  test('refuses writes and DDL', async () => {
    for (const query of [
      "INSERT INTO events (event_id) VALUES ('0190a6e4-8d1c-7b5e-9f00-000000000001')",
      'DROP TABLE events',
      'ALTER TABLE events DELETE WHERE 1',
      'TRUNCATE TABLE events_quarantine',
      'SET readonly = 0',
      'OPTIMIZE TABLE events FINAL',
    ]) {
      assertRefused(await sql(query), 400, 'SIEM_ERR_QUERY_INVALID')
    }
    assert.ok((await countRows(app.app, 'events')) >= 1, 'events are still there')
  })

  test('refuses more than one statement and empty input', async () => {
    assertRefused(await sql('SELECT 1; SELECT 2'), 400, 'SIEM_ERR_QUERY_INVALID')
    assertRefused(await sql('SELECT 1; DROP TABLE events'), 400, 'SIEM_ERR_QUERY_INVALID')
    assertRefused(await sql(''), 400, 'SIEM_ERR_QUERY_INVALID')
    assertRefused(await sql(42), 400, 'SIEM_ERR_QUERY_INVALID')
    const notJson = await request(`${app.url}/v1/sql`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: 'SELECT 1',
    })
    assertRefused(notJson, 400, 'SIEM_ERR_QUERY_INVALID')
    // A text/plain body is what a cross-site form or fetch could send without a preflight.
    const textPlain = await request(`${app.url}/v1/sql`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY }, body: 'SELECT 1' })
    assertRefused(textPlain, 415, 'SIEM_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE')
  })

  test('the engine enforces readonly on what passes the statement check', async () => {
    assertRefused(await sql('SELECT 1 SETTINGS readonly = 0'), 400, 'SIEM_ERR_QUERY_INVALID')
    assertRefused(await sql("SELECT * FROM file('/etc/hostname', 'LineAsString')"), 400, 'SIEM_ERR_QUERY_INVALID')
  })

  test('refuses INTO OUTFILE, which would write a file on the host', async () => {
    const target = join(app.dataDir, `outfile-${randomUUID()}.csv`)
    for (const query of [`SELECT 1 INTO OUTFILE '${target}'`, `SELECT 1 INTO /* c */ OUTFILE '${target}' FORMAT CSV`]) {
      assertRefused(await sql(query), 400, 'SIEM_ERR_QUERY_INVALID')
    }
    assert.equal(existsSync(target), false)
  })

  test('caps the rows of a result', async () => {
    const full = await sql(`SELECT number FROM numbers(${MAX_ROWS})`)
    assert.equal(full.status, 200, full.text)
    assert.equal(full.body['row_count'], MAX_ROWS)
    assertRefused(await sql(`SELECT number FROM numbers(${MAX_ROWS + 1})`), 422, 'SIEM_ERR_QUERY_TOO_MANY_ROWS')
  })

  test('stops a query at the time limit', async () => {
    const started = Date.now()
    assertRefused(await sql('SELECT count() FROM system.numbers'), 504, 'SIEM_ERR_QUERY_TIMEOUT')
    assert.ok(Date.now() - started < 10_000)
  })

  test('needs an admin key', async () => {
    assertRefused(await sql('SELECT 1', null), 401, 'SIEM_ERR_AUTH_MISSING_KEY')
    assertRefused(await sql('SELECT 1', 'wrong'), 401, 'SIEM_ERR_AUTH_INVALID_KEY')
    assertRefused(await sql('SELECT 1', INGEST_KEY), 403, 'SIEM_ERR_AUTH_FORBIDDEN')
  })

  test('leaves the embedded session writable and uncapped afterwards', async () => {
    // chdb turns per-request settings into session-wide SETs unless the
    // connection wrapper scopes them to the query. A leak would make every
    // later insert fail with readonly.
    await sql('SELECT 1')
    await sql(`SELECT number FROM numbers(${MAX_ROWS + 1})`)
    await sql('SELECT 1 SETTINGS readonly = 0')
    assert.equal(await sessionSetting(app.app, 'readonly'), '0')
    assert.equal(await sessionSetting(app.app, 'max_result_rows'), '0')
    assert.equal(await sessionSetting(app.app, 'max_execution_time'), '0')
    await storeOneEvent()
    await app.app.storage.client.command({ query: 'CREATE TABLE IF NOT EXISTS sql_probe (x UInt8) ENGINE = MergeTree ORDER BY x' })
    await app.app.storage.client.insert({ table: 'sql_probe', values: [{ x: 1 }], format: 'JSONEachRow' })
    assert.equal(await countRows(app.app, 'sql_probe'), 1)
  })
})
