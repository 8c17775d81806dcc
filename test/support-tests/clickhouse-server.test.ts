import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClickHouseError, createClient, type ClickHouseClient } from '@clickhouse/client'
import { startClickHouseServer, type ClickHouseTestServer } from '../support/clickhouse-server/index.js'

const USER = 'siem'
const PASSWORD = 'test-password'

let dataDir: string
let server: ClickHouseTestServer
let client: ClickHouseClient
const extraClients: ClickHouseClient[] = []

function newClient(options: Parameters<typeof createClient>[0] = {}): ClickHouseClient {
  const created = createClient({ url: server.url, username: USER, password: PASSWORD, ...options })
  extraClients.push(created)
  return created
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  assert.fail('expected the request to fail')
}

async function clickHouseError(promise: Promise<unknown>): Promise<ClickHouseError> {
  const err = await rejection(promise)
  assert.ok(err instanceof ClickHouseError, `expected a ClickHouseError, got ${String(err)}`)
  return err
}

/** Sends a raw HTTP request with the test credentials. */
function post(search: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/${search}`, {
    method: 'POST',
    body,
    headers: { 'X-ClickHouse-User': USER, 'X-ClickHouse-Key': PASSWORD, ...headers },
  })
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'clickhouse-test-server-'))
  server = await startClickHouseServer({ dataDir, user: USER, password: PASSWORD })
  client = newClient()
})

after(async () => {
  await Promise.all(extraClients.map((c) => c.close()))
  await server.stop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('HTTP endpoints', () => {
  test('client ping succeeds', async () => {
    const result = await client.ping()
    assert.equal(result.success, true)
  })

  test('GET /ping returns Ok', async () => {
    const response = await fetch(`${server.url}/ping`)
    assert.equal(response.status, 200)
    assert.equal(await response.text(), 'Ok.\n')
  })

  test('query response carries ClickHouse headers', async () => {
    const response = await post('?query_id=headers-1&default_format=JSONEachRow', 'SELECT 1 AS x')
    assert.equal(response.status, 200)
    assert.equal(await response.text(), '{"x":1}\n')
    assert.equal(response.headers.get('x-clickhouse-query-id'), 'headers-1')
    assert.equal(response.headers.get('x-clickhouse-format'), 'JSONEachRow')
    assert.match(response.headers.get('x-clickhouse-timezone') ?? '', /UTC/)
    assert.ok((response.headers.get('x-clickhouse-server-display-name') ?? '') !== '')
    assert.equal(response.headers.get('keep-alive'), 'timeout=3')
    const summary = JSON.parse(response.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>
    assert.equal(summary['result_rows'], '1')
    assert.equal(summary['written_rows'], '0')
    assert.match(summary['elapsed_ns'] ?? '', /^\d+$/)
  })

  test('FORMAT clause names the output format', async () => {
    const response = await post('?default_format=CSV', 'SELECT 2 AS y FORMAT JSONEachRow')
    assert.equal(response.headers.get('x-clickhouse-format'), 'JSONEachRow')
    assert.equal(await response.text(), '{"y":2}\n')
  })

  test('error response has status, code header and body', async () => {
    const response = await post('', 'SELECT * FROM no_such_table')
    assert.equal(response.status, 404)
    assert.equal(response.headers.get('x-clickhouse-exception-code'), '60')
    assert.match(await response.text(), /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version \d+\.\d+[.\d]*\)\n$/s)
  })

  test('syntax error is a 400', async () => {
    const response = await post('', 'SELEC 1')
    assert.equal(response.status, 400)
    assert.equal(response.headers.get('x-clickhouse-exception-code'), '62')
  })

  test('unknown path is a 404', async () => {
    const response = await fetch(`${server.url}/no-such-handler`)
    assert.equal(response.status, 404)
  })
})

describe('authentication', () => {
  test('wrong password is AUTHENTICATION_FAILED', async () => {
    const wrong = newClient({ password: 'wrong' })
    const err = await clickHouseError(wrong.query({ query: 'SELECT 1' }))
    assert.equal(err.code, '516')
    assert.equal(err.type, 'AUTHENTICATION_FAILED')
  })

  test('unknown user gets 403', async () => {
    const response = await fetch(`${server.url}/`, {
      method: 'POST',
      body: 'SELECT 1',
      headers: { 'X-ClickHouse-User': 'nobody', 'X-ClickHouse-Key': PASSWORD },
    })
    assert.equal(response.status, 403)
    assert.equal(response.headers.get('x-clickhouse-exception-code'), '516')
  })

  test('user and password URL parameters work', async () => {
    const response = await fetch(`${server.url}/?user=${USER}&password=${PASSWORD}`, { method: 'POST', body: 'SELECT 3' })
    assert.equal(response.status, 200)
    assert.equal(await response.text(), '3\n')
  })

  test('Authorization header with user parameter is rejected', async () => {
    const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
    const response = await fetch(`${server.url}/?user=${USER}`, {
      method: 'POST',
      body: 'SELECT 1',
      headers: { Authorization: `Basic ${basic}` },
    })
    assert.equal(response.status, 403)
  })
})

describe('databases and inserts', () => {
  test('database option selects a custom database', async () => {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS siem_custom' })
    const custom = newClient({ database: 'siem_custom' })
    await custom.command({ query: 'CREATE TABLE things (id UInt32, name String) ENGINE = MergeTree ORDER BY id' })
    await custom.insert({ table: 'things', values: [{ id: 1, name: 'a' }], format: 'JSONEachRow' })
    const current = await custom.query({ query: 'SELECT currentDatabase() AS db', format: 'JSONEachRow' })
    assert.deepEqual(await current.json(), [{ db: 'siem_custom' }])
    const inCustom = await client.query({
      query: "SELECT count() AS n FROM system.tables WHERE database = 'siem_custom' AND name = 'things'",
      format: 'JSONEachRow',
    })
    assert.deepEqual(await inCustom.json(), [{ n: 1 }])
    const inDefault = await client.query({
      query: "SELECT count() AS n FROM system.tables WHERE database = 'default' AND name = 'things'",
      format: 'JSONEachRow',
    })
    assert.deepEqual(await inDefault.json(), [{ n: 0 }])
    const rows = await custom.query({ query: 'SELECT id, name FROM things', format: 'JSONEachRow' })
    assert.deepEqual(await rows.json(), [{ id: 1, name: 'a' }])
  })

  test('unknown database is UNKNOWN_DATABASE', async () => {
    const missing = newClient({ database: 'no_such_database' })
    const err = await clickHouseError(missing.query({ query: 'SELECT 1' }))
    assert.equal(err.code, '81')
    assert.equal(err.type, 'UNKNOWN_DATABASE')
  })

  test('insert with the same deduplication token stores once', async () => {
    await client.command({
      query:
        'CREATE TABLE dedup (id UInt32) ENGINE = MergeTree ORDER BY id ' +
        'SETTINGS non_replicated_deduplication_window = 100',
    })
    const insert = (ids: number[], token: string) =>
      client.insert({
        table: 'dedup',
        values: ids.map((id) => ({ id })),
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: token },
      })
    const first = await insert([1, 2, 3], 'batch-1')
    assert.equal(first.summary?.written_rows, '3')
    await insert([4, 5], 'batch-1')
    await insert([6], 'batch-2')
    const rows = await client.query({ query: 'SELECT groupArray(id) AS ids FROM (SELECT id FROM dedup ORDER BY id)', format: 'JSONEachRow' })
    assert.deepEqual(await rows.json(), [{ ids: [1, 2, 3, 6] }])
  })

  test('insert body in query text works', async () => {
    await client.command({ query: 'CREATE TABLE inline_rows (id UInt32) ENGINE = Memory' })
    await client.command({ query: 'INSERT INTO inline_rows FORMAT JSONEachRow\n{"id":7}\n{"id":8}' })
    await client.command({ query: 'INSERT INTO inline_rows VALUES (9)' })
    const rows = await client.query({ query: 'SELECT groupArray(id) AS ids FROM (SELECT id FROM inline_rows ORDER BY id)', format: 'JSONEachRow' })
    assert.deepEqual(await rows.json(), [{ ids: [7, 8, 9] }])
  })

  test('empty insert body is NO_DATA_TO_INSERT', async () => {
    const response = await post('?query=INSERT%20INTO%20inline_rows%20FORMAT%20JSONEachRow', '')
    assert.equal(response.headers.get('x-clickhouse-exception-code'), '108')
  })

  test('unparsable row is a ClickHouseError', async () => {
    await client.command({ query: 'CREATE TABLE typed_rows (n UInt32) ENGINE = Memory' })
    const err = await clickHouseError(
      client.insert({ table: 'typed_rows', values: [{ n: 'not a number' }], format: 'JSONEachRow' }),
    )
    assert.equal(err.type, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED')
  })

  test('readonly=1 rejects an INSERT', async () => {
    await client.command({ query: 'CREATE TABLE guarded (id UInt32) ENGINE = Memory' })
    const err = await clickHouseError(
      client.insert({
        table: 'guarded',
        values: [{ id: 1 }],
        format: 'JSONEachRow',
        clickhouse_settings: { readonly: '1' },
      }),
    )
    assert.equal(err.code, '164')
    assert.equal(err.type, 'READONLY')
    const read = await client.query({ query: 'SELECT count() AS n FROM guarded', format: 'JSONEachRow', clickhouse_settings: { readonly: '1' } })
    assert.deepEqual(await read.json(), [{ n: 0 }])
  })
})

describe('queries', () => {
  test('query params bind UInt32, DateTime64 and String', async () => {
    const text = "it's a \\ back\tslash\nline"
    const result = await client.query({
      query: "SELECT {x:UInt32} AS x, {t:DateTime64(6, 'UTC')} AS t, {s:String} AS s",
      query_params: { x: 42, t: '2024-05-06 07:08:09.123456', s: text },
      format: 'JSONEachRow',
    })
    assert.deepEqual(await result.json(), [{ x: 42, t: '2024-05-06 07:08:09.123456', s: text }])
  })

  test('query params bind Date and Array values', async () => {
    const result = await client.query({
      query: "SELECT {d:DateTime64(3, 'UTC')} AS d, {a:Array(String)} AS a, {n:Nullable(UInt8)} AS n",
      query_params: { d: new Date('2024-05-06T07:08:09.250Z'), a: ["o'k", 'b\\c'], n: null },
      format: 'JSONEachRow',
    })
    assert.deepEqual(await result.json(), [{ d: '2024-05-06 07:08:09.250', a: ["o'k", 'b\\c'], n: null }])
  })

  test('unparsable query param is BAD_QUERY_PARAMETER', async () => {
    const err = await clickHouseError(
      client.query({ query: 'SELECT {x:UInt32} AS x', query_params: { x: 'abc' }, format: 'JSONEachRow' }),
    )
    assert.equal(err.type, 'BAD_QUERY_PARAMETER')
  })

  test('multipart query params work', async () => {
    const multipart = newClient({ use_multipart_params: true })
    const result = await multipart.query({
      query: 'SELECT {a:Array(String)} AS a',
      query_params: { a: ['x', 'y'] },
      format: 'JSONEachRow',
    })
    assert.deepEqual(await result.json(), [{ a: ['x', 'y'] }])
  })

  test('concurrent queries keep their own params', async () => {
    const values = Array.from({ length: 24 }, (_, i) => i)
    const results = await Promise.all(
      values.map(async (v) => {
        const result = await client.query({ query: 'SELECT {v:UInt32} AS v', query_params: { v }, format: 'JSONEachRow' })
        return ((await result.json()) as Array<{ v: number }>)[0]?.v
      }),
    )
    assert.deepEqual(results, values)
  })

  test('unknown table is ClickHouseError 60', async () => {
    const err = await clickHouseError(client.query({ query: 'SELECT * FROM missing_table', format: 'JSONEachRow' }))
    assert.equal(err.code, '60')
    assert.equal(err.type, 'UNKNOWN_TABLE')
    assert.match(err.message, /missing_table/)
  })

  test('several statements are rejected', async () => {
    await client.command({ query: 'CREATE TABLE multi_target (id UInt32) ENGINE = Memory' })
    const err = await clickHouseError(
      client.command({ query: 'INSERT INTO multi_target VALUES (1); INSERT INTO multi_target VALUES (2)' }),
    )
    assert.equal(err.code, '62')
    assert.equal(err.type, 'SYNTAX_ERROR')
    assert.match(err.message, /Multi-statements are not allowed/)
    const query = await clickHouseError(client.query({ query: 'SELECT 1; SELECT 2', format: 'JSONEachRow' }))
    assert.equal(query.type, 'SYNTAX_ERROR')
    const rows = await client.query({ query: 'SELECT count() AS n FROM multi_target', format: 'JSONEachRow' })
    assert.deepEqual(await rows.json(), [{ n: 0 }])
  })

  test('semicolons in strings, comments and at the end pass', async () => {
    const result = await client.query({
      query: "SELECT 'a;b' AS s, `c;d` FROM (SELECT 1 AS `c;d`) /* x; y */ -- z; w\n",
      format: 'JSONEachRow',
    })
    assert.deepEqual(await result.json(), [{ s: 'a;b', 'c;d': 1 }])
    await client.command({ query: 'SELECT 1;' })
    await client.command({ query: 'SELECT 1;;\n' })
  })

  test('settings apply to one request only', async () => {
    const set = await client.query({
      query: "SELECT getSetting('max_threads') AS v",
      format: 'JSONEachRow',
      clickhouse_settings: { max_threads: 1 },
    })
    assert.deepEqual(await set.json(), [{ v: 1 }])
    await client.command({ query: 'SET max_threads = 1' })
    const after = await client.query({ query: "SELECT changed FROM system.settings WHERE name = 'max_threads'", format: 'JSONEachRow' })
    assert.deepEqual(await after.json(), [{ changed: 0 }])
  })

  test('bare expression is not a query', async () => {
    const err = await clickHouseError(client.command({ query: '1 + 1' }))
    assert.equal(err.type, 'SYNTAX_ERROR')
  })

  test('64-bit integers quote only when asked', async () => {
    const plain = await client.query({ query: 'SELECT toUInt64(7) AS n', format: 'JSONEachRow' })
    assert.deepEqual(await plain.json(), [{ n: 7 }])
    const quoted = await client.query({
      query: 'SELECT toUInt64(7) AS n',
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    })
    assert.deepEqual(await quoted.json(), [{ n: '7' }])
  })

  test('unknown setting is UNKNOWN_SETTING', async () => {
    const err = await clickHouseError(
      client.query({ query: 'SELECT 1', clickhouse_settings: { no_such_setting: 1 } as Record<string, number> }),
    )
    assert.equal(err.type, 'UNKNOWN_SETTING')
  })

  test('max_execution_time stops a long query', async () => {
    const err = await clickHouseError(
      client.query({
        query: 'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 0',
        clickhouse_settings: { max_execution_time: 1 },
      }),
    )
    assert.equal(err.type, 'TIMEOUT_EXCEEDED')
  })

  test('session keeps SET between requests', async () => {
    const sessionClient = newClient({ session_id: 'support-test-session' })
    await sessionClient.command({ query: 'SET max_threads = 1' })
    const inSession = await sessionClient.query({ query: "SELECT getSetting('max_threads') AS v", format: 'JSONEachRow' })
    assert.deepEqual(await inSession.json(), [{ v: 1 }])
    const perQuery = await sessionClient.query({
      query: "SELECT getSetting('max_threads') AS v",
      format: 'JSONEachRow',
      clickhouse_settings: { max_threads: 3 },
    })
    assert.deepEqual(await perQuery.json(), [{ v: 3 }])
    const again = await sessionClient.query({ query: "SELECT getSetting('max_threads') AS v", format: 'JSONEachRow' })
    assert.deepEqual(await again.json(), [{ v: 1 }])
  })

  test('running query id cannot be reused', async () => {
    const slow = client.query({ query: 'SELECT sleep(1)', query_id: 'same-id', format: 'JSONEachRow' })
    const err = await clickHouseError(client.query({ query: 'SELECT 1', query_id: 'same-id', format: 'JSONEachRow' }))
    assert.equal(err.type, 'QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING')
    await (await slow).json()
  })
})

describe('compression', () => {
  test('gzip request and response round-trip', async () => {
    const compressed = newClient({ compression: { request: true, response: true } })
    await compressed.command({ query: 'CREATE TABLE zipped (id UInt32, note String) ENGINE = Memory' })
    const values = Array.from({ length: 500 }, (_, id) => ({ id, note: `row ${id}` }))
    await compressed.insert({ table: 'zipped', values, format: 'JSONEachRow' })
    const result = await compressed.query({ query: 'SELECT count() AS n, max(id) AS top FROM zipped', format: 'JSONEachRow' })
    assert.deepEqual(await result.json(), [{ n: 500, top: 499 }])
  })

  test('response is gzip only when enabled', async () => {
    const zipped = await post('?enable_http_compression=1', 'SELECT 42', { 'Accept-Encoding': 'gzip' })
    assert.equal(zipped.headers.get('content-encoding'), 'gzip')
    // fetch decodes gzip itself, so the text is already plain.
    assert.equal(await zipped.text(), '42\n')
    const plain = await post('', 'SELECT 42', { 'Accept-Encoding': 'gzip' })
    assert.equal(plain.headers.get('content-encoding'), null)
  })

  test('gzip error body decodes', async () => {
    const response = await post('?enable_http_compression=1', 'SELECT * FROM missing_table', { 'Accept-Encoding': 'gzip' })
    assert.equal(response.status, 404)
    assert.equal(response.headers.get('content-encoding'), 'gzip')
    assert.match(await response.text(), /UNKNOWN_TABLE/)
  })

  test('unknown Content-Encoding is rejected', async () => {
    const response = await post('', 'SELECT 1', { 'Content-Encoding': 'snappy' })
    assert.equal(response.headers.get('x-clickhouse-exception-code'), '48')
  })
})
