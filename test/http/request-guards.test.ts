import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { hashApiKey } from '../../src/http/auth.js'
import { isLoopbackHost } from '../../src/config/load.js'
import { startTestApp, type TestApp } from '../support/app.js'

interface RawAnswer {
  status: number
  body: string
}

/** Sends a request with exactly the given headers (fetch would set Host itself). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

function portOf(app: TestApp): number {
  return app.addresses.http.port
}

describe('without API keys', () => {
  let app: TestApp

  before(async () => {
    app = await startTestApp()
  })

  after(async () => {
    await app.close()
  })

  test('loopback host is served', async () => {
    for (const host of ['127.0.0.1', 'localhost', `127.0.0.1:${portOf(app)}`, '[::1]:8080']) {
      const answer = await send(portOf(app), 'GET', '/health', { host })
      assert.equal(answer.status, 200, `${host}: ${answer.body}`)
    }
  })

  test('foreign host is refused', async () => {
    for (const host of ['evil.example', '127.evil.example', 'evil.example:8080']) {
      const answer = await send(portOf(app), 'POST', '/v1/sql', { host, 'content-type': 'application/json' }, '{"query":"SELECT 1"}')
      assert.equal(answer.status, 403, `${host}: ${answer.body}`)
      assert.match(answer.body, /SIEM_ERR_AUTH_FORBIDDEN/)
    }
  })

  test('cross-site origin is refused', async () => {
    const answer = await send(
      portOf(app),
      'POST',
      '/v1/events',
      { host: '127.0.0.1', origin: 'http://evil.example', 'content-type': 'application/json' },
      '{"events":[]}',
    )
    assert.equal(answer.status, 403, answer.body)
    const local = await send(portOf(app), 'GET', '/health', { host: '127.0.0.1', origin: 'http://localhost:3000' })
    assert.equal(local.status, 200, local.body)
  })

  test('text body under v1 is refused', async () => {
    const answer = await send(portOf(app), 'POST', '/v1/sql', { host: '127.0.0.1', 'content-type': 'text/plain' }, '{"query":"SELECT 1"}')
    assert.equal(answer.status, 415, answer.body)
  })
})

describe('with API keys', () => {
  let app: TestApp

  before(async () => {
    app = await startTestApp({
      http: { request_timeout: '1s' },
      auth: { api_keys: [{ name: 'ingest', sha256: hashApiKey('good-key'), tenant: 'acme', roles: ['ingest'] }] },
    })
  })

  after(async () => {
    await app.close()
  })

  test('missing key is refused before the body', async () => {
    // The body never arrives: a 401 proves the key was checked first.
    const answer = await new Promise<RawAnswer>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: portOf(app),
          method: 'POST',
          path: '/v1/events',
          headers: { 'content-type': 'application/json', 'content-length': '100000' },
        },
        (res) => {
          res.resume()
          resolve({ status: res.statusCode ?? 0, body: '' })
          req.destroy()
        },
      )
      req.on('error', reject)
      req.write('{"events":[')
    })
    assert.equal(answer.status, 401)
  })

  test('trickled body times out', async () => {
    const started = Date.now()
    const status = await new Promise<number>((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: portOf(app),
          method: 'POST',
          path: '/v1/events',
          headers: { 'content-type': 'application/json', 'content-length': '100000', 'x-api-key': 'good-key' },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', () => resolve(-1))
      req.write('{"events":[')
    })
    assert.ok(status === 408 || status === -1, `status ${status}`)
    assert.ok(Date.now() - started < 10_000, 'closed by http.request_timeout')
  })
})

test('loopback check names addresses, not prefixes', () => {
  assert.equal(isLoopbackHost('127.0.0.1'), true)
  assert.equal(isLoopbackHost('127.1.2.3'), true)
  assert.equal(isLoopbackHost('::1'), true)
  assert.equal(isLoopbackHost('LOCALHOST'), true)
  assert.equal(isLoopbackHost('127.evil.example'), false)
  assert.equal(isLoopbackHost('10.0.0.1'), false)
})
