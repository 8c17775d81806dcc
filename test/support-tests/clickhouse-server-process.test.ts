import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { startClickHouseServer, type ClickHouseTestServer } from '../support/clickhouse-server/index.js'

let dataDir: string
let server: ClickHouseTestServer
const clients: ClickHouseClient[] = []

function newClient(options: Parameters<typeof createClient>[0] = {}): ClickHouseClient {
  // The client logs every failed request, and these tests fail requests on purpose.
  const created = createClient({ url: server.url, log: { level: ClickHouseLogLevel.OFF }, ...options })
  clients.push(created)
  return created
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof Error)
    return err
  }
  assert.fail('expected the request to fail')
}

async function count(client: ClickHouseClient, table: string): Promise<number> {
  const result = await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
  const rows = (await result.json()) as Array<{ n: number }>
  return rows[0]?.n ?? -1
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'clickhouse-test-server-process-'))
  const started = Date.now()
  server = await startClickHouseServer({ dataDir })
  // Startup time is part of the helper's contract with other tests.
  assert.ok(Date.now() - started < 10_000, `start took ${Date.now() - started} ms`)
})

after(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await server.stop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('server process control', () => {
  test('kill makes the client see connection refused', async () => {
    const client = newClient()
    await client.command({ query: 'CREATE TABLE survivors (id UInt32) ENGINE = MergeTree ORDER BY id' })
    await client.insert({ table: 'survivors', values: [{ id: 1 }, { id: 2 }], format: 'JSONEachRow' })
    const pid = server.pid
    await server.kill()
    assert.equal(server.pid, undefined)
    assert.notEqual(pid, undefined)
    const err = await rejection(client.query({ query: 'SELECT 1' }))
    assert.equal(err.code, 'ECONNREFUSED')
    const ping = await client.ping()
    assert.equal(ping.success, false)
  })

  test('restart after kill keeps port and data', async () => {
    const port = server.port
    await server.restart()
    assert.equal(server.port, port)
    const client = newClient()
    assert.equal(await count(client, 'survivors'), 2)
  })

  test('kill during inserts leaves a usable data dir', async () => {
    const client = newClient()
    await client.command({ query: 'CREATE TABLE crash_rows (id UInt32) ENGINE = MergeTree ORDER BY id' })
    const inserts = Array.from({ length: 20 }, (_, i) =>
      client.insert({ table: 'crash_rows', values: [{ id: i }], format: 'JSONEachRow' }).then(
        () => 'stored',
        () => 'failed',
      ),
    )
    await new Promise((resolve) => setImmediate(resolve))
    await server.kill()
    const outcomes = await Promise.all(inserts)
    await server.restart()
    const stored = await count(newClient(), 'crash_rows')
    const acknowledged = outcomes.filter((o) => o === 'stored').length
    assert.ok(stored >= acknowledged, `stored ${stored} rows, ${acknowledged} were acknowledged`)
  })

  test('pause makes requests time out until resume', async () => {
    const client = newClient({ request_timeout: 300 })
    await client.ping()
    server.pause()
    try {
      const err = await rejection(client.query({ query: 'SELECT 1' }))
      assert.match(err.message, /Timeout error/)
    } finally {
      server.resume()
    }
    const result = await client.query({ query: 'SELECT 5 AS v', format: 'JSONEachRow' })
    assert.deepEqual(await result.json(), [{ v: 5 }])
  })

  test('kill of a paused server ends it', async () => {
    server.pause()
    await server.kill('SIGTERM')
    assert.equal(server.pid, undefined)
    await server.restart()
    assert.equal((await newClient().ping()).success, true)
  })

  test('stop twice and kill while stopped are safe', async () => {
    await server.stop()
    await server.stop()
    await server.kill()
    assert.equal(server.pid, undefined)
    await server.restart()
    assert.equal((await newClient().ping()).success, true)
  })

  test('restart on another port', async () => {
    const previous = server.port
    await server.restart({ port: 0 })
    assert.notEqual(server.port, previous)
    assert.equal(await count(newClient(), 'survivors'), 2)
  })

  test('failed start reports the server output', async () => {
    // The running server uses the data directory, so a second one on it must fail.
    const err = await rejection(startClickHouseServer({ dataDir, startTimeoutMs: 20_000 }))
    assert.match(err.message, /exited with code 1/)
    assert.match(err.message, /failed to start/)
  })
})

describe('keep-alive', () => {
  test('server closes idle sockets after keep_alive_timeout', async () => {
    const shortDataDir = await mkdtemp(join(tmpdir(), 'clickhouse-test-server-keepalive-'))
    const short = await startClickHouseServer({ dataDir: shortDataDir, keepAliveTimeoutMs: 1000 })
    // A raw socket, because Node's HTTP agent closes sockets itself ahead of
    // the server's Keep-Alive hint and would hide what the server does.
    const socket = connect(short.port, '127.0.0.1')
    try {
      socket.write('GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n')
      const response = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())))
      assert.match(response, /^HTTP\/1\.1 200 OK/)
      assert.match(response, /\r\nKeep-Alive: timeout=1\r\n/i)
      const idleSince = Date.now()
      await new Promise((resolve) => socket.once('end', resolve))
      const idleMs = Date.now() - idleSince
      assert.ok(idleMs >= 900, `server closed the socket after ${idleMs} ms`)
      assert.ok(idleMs < 3000, `server closed the socket after ${idleMs} ms`)
    } finally {
      socket.destroy()
      await short.stop()
      await rm(shortDataDir, { recursive: true, force: true })
    }
  })
})
