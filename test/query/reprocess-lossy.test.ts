import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { countRows, startTestApp, waitFor, type TestApp } from '../support/app.js'

let app: TestApp

before(async () => {
  app = await startTestApp()
})

after(async () => {
  await app.close()
})

test('input stored lossily is never reprocessed', async () => {
  // A valid event except for one byte that is not UTF-8: the quarantine keeps
  // the body decoded as latin1, which would parse as a (garbled) event.
  const text = JSON.stringify({ timestamp: new Date().toISOString(), source: { product: 'pXX' }, action: 'auth.login' })
  const body = Buffer.from(text, 'latin1')
  body[body.indexOf('XX')] = 0xff
  const posted = await fetch(`${app.url}/v1/events?ack=committed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  assert.equal(posted.status, 400)
  await waitFor(() => countRows(app.app, 'events_quarantine', "error_code = 'invalid_utf8'"), (count) => count === 1)

  const reply = await fetch(`${app.url}/v1/quarantine/reprocess`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  })
  const report = (await reply.json()) as { examined: number; reprocessed: number; still_invalid: number }
  assert.equal(reply.status, 200, JSON.stringify(report))
  assert.equal(report.examined, 1)
  assert.equal(report.reprocessed, 0)
  assert.equal(report.still_invalid, 1)
  assert.equal(await countRows(app.app, 'events'), 0)
})
