import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { test } from 'node:test'
import { startTestApp } from '../support/app.js'

test('shutdown closes a connection busy at its start', { timeout: 30_000 }, async () => {
  const app = await startTestApp()
  const port = Number(new URL(app.url).port)
  const body = JSON.stringify({ events: [{ timestamp: new Date().toISOString(), source: { product: 'sshd' }, action: 'auth.login' }] })
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let response = ''
  socket.on('data', (chunk: Buffer) => {
    response += chunk.toString()
  })
  const closed = once(socket, 'close')
  // Headers and half the body, so the request is under way when the shutdown starts.
  socket.write(`POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`)
  socket.write(body.slice(0, 10))
  await new Promise((resolve) => setTimeout(resolve, 100))

  const started = Date.now()
  const stopping = app.close()
  await new Promise((resolve) => setTimeout(resolve, 100))
  socket.write(body.slice(10))
  // Before the fix the connection stayed open, idle, until fastify's 72 s keep-alive timeout.
  await closed
  assert.equal(await stopping, true)
  assert.match(response, /^HTTP\/1\.1 200 /)
  assert.match(response, /connection: close/i)
  assert.ok(Date.now() - started < 10_000, `shutdown took ${Date.now() - started} ms`)
})
