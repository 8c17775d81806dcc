import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { startClickHouseServer, type ClickHouseTestServer } from '../support/clickhouse-server/index.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

/** Time to wait for a reply that must not come, in milliseconds. */
const SILENCE_MS = 300

let echo: Server
let echoPort: number

before(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  echo.listen(0, '127.0.0.1')
  await once(echo, 'listening')
  echoPort = (echo.address() as AddressInfo).port
})

after(() => {
  echo.close()
})

async function withProxy(run: (proxy: TcpProxy) => Promise<void>): Promise<void> {
  const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: echoPort } })
  try {
    await run(proxy)
  } finally {
    await proxy.close()
  }
}

async function open(proxy: TcpProxy): Promise<Socket> {
  const socket = connect(proxy.port, '127.0.0.1')
  await once(socket, 'connect')
  return socket
}

function nextData(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()))
    socket.once('error', reject)
  })
}

/** Resolves with the socket's error code, or 'none' when the socket stays silent for SILENCE_MS. */
function errorOrSilence(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('none'), SILENCE_MS)
    socket.once('data', () => resolve('data'))
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(err.code ?? 'error')
    })
  })
}

describe('tcp proxy modes', () => {
  test('pass forwards both ways', async () => {
    await withProxy(async (proxy) => {
      const socket = await open(proxy)
      socket.write('hello')
      assert.equal(await nextData(socket), 'hello')
      assert.equal(proxy.connectionCount(), 1)
      socket.destroy()
    })
  })

  test('delay adds latency in order', async () => {
    await withProxy(async (proxy) => {
      proxy.setMode('delay', { delayMs: 150 })
      const socket = await open(proxy)
      const started = Date.now()
      let received = ''
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
      socket.write('a')
      socket.write('b')
      socket.write('c')
      while (received.length < 3) await once(socket, 'data')
      const elapsed = Date.now() - started
      assert.equal(received, 'abc')
      // Each direction adds the delay once.
      assert.ok(elapsed >= 290, `round trip took ${elapsed} ms`)
      proxy.setMode('pass')
      const passStarted = Date.now()
      socket.write('d')
      assert.equal(await nextData(socket), 'd')
      assert.ok(Date.now() - passStarted < 150, 'pass mode still delayed')
      socket.destroy()
    })
  })

  test('reset sends RST to open and new connections', async () => {
    await withProxy(async (proxy) => {
      const existing = await open(proxy)
      existing.write('x')
      await nextData(existing)
      const reset = errorOrSilence(existing)
      proxy.setMode('reset')
      assert.equal(await reset, 'ECONNRESET')
      const fresh = connect(proxy.port, '127.0.0.1')
      assert.equal(await errorOrSilence(fresh), 'ECONNRESET')
    })
  })

  test('blackhole accepts and never answers', async () => {
    await withProxy(async (proxy) => {
      const existing = await open(proxy)
      proxy.setMode('blackhole')
      existing.write('lost')
      assert.equal(await errorOrSilence(existing), 'none')
      const fresh = await open(proxy)
      fresh.write('lost too')
      assert.equal(await errorOrSilence(fresh), 'none')
      proxy.setMode('pass')
      const later = await open(proxy)
      later.write('back')
      assert.equal(await nextData(later), 'back')
      for (const socket of [existing, fresh, later]) socket.destroy()
    })
  })

  test('unreachable target resets the client', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port } })
    try {
      const socket = connect(proxy.port, '127.0.0.1')
      assert.equal(await errorOrSilence(socket), 'ECONNRESET')
      proxy.setTarget({ host: '127.0.0.1', port: echoPort })
      const retargeted = await open(proxy)
      retargeted.write('found')
      assert.equal(await nextData(retargeted), 'found')
      retargeted.destroy()
    } finally {
      await proxy.close()
    }
  })

  test('close destroys connections and is safe twice', async () => {
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: echoPort } })
    const socket = await open(proxy)
    const ended = errorOrSilence(socket)
    await proxy.close()
    await proxy.close()
    assert.equal(await ended, 'ECONNRESET')
    assert.equal(proxy.connectionCount(), 0)
  })
})

describe('tcp proxy in front of the test server', () => {
  let dataDir: string
  let server: ClickHouseTestServer
  let proxy: TcpProxy
  let client: ClickHouseClient

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'clickhouse-test-server-proxy-'))
    server = await startClickHouseServer({ dataDir })
    proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: server.port } })
    client = createClient({ url: proxy.url, request_timeout: 400, log: { level: ClickHouseLogLevel.OFF } })
  })

  after(async () => {
    await client.close()
    await proxy.close()
    await server.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  async function selectOne(): Promise<unknown> {
    const result = await client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })
    return result.json()
  }

  async function failure(): Promise<Error & { code?: string }> {
    try {
      await selectOne()
    } catch (err) {
      assert.ok(err instanceof Error)
      return err
    }
    assert.fail('expected the query to fail')
  }

  test('client queries pass through', async () => {
    assert.deepEqual(await selectOne(), [{ one: 1 }])
  })

  test('blackhole makes the client time out', async () => {
    proxy.setMode('blackhole')
    const err = await failure()
    assert.match(err.message, /Timeout error/)
    proxy.setMode('pass')
    assert.deepEqual(await selectOne(), [{ one: 1 }])
  })

  test('reset makes the client see ECONNRESET', async () => {
    proxy.setMode('reset')
    const err = await failure()
    assert.equal(err.code, 'ECONNRESET')
    proxy.setMode('pass')
    assert.deepEqual(await selectOne(), [{ one: 1 }])
  })

  test('delay longer than request_timeout times out', async () => {
    proxy.setMode('delay', { delayMs: 250 })
    const err = await failure()
    assert.match(err.message, /Timeout error/)
    proxy.setMode('delay', { delayMs: 50 })
    assert.deepEqual(await selectOne(), [{ one: 1 }])
    proxy.setMode('pass')
  })
})
