import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { countRows, startTestApp } from '../support/app.js'
import { errorCode, metricValue, postEvents, request } from './request.js'

function event(tag: string): Record<string, unknown> {
  return { timestamp: new Date().toISOString(), source: { product: 'backpressure' }, action: 'auth.login', target: tag }
}

test('full queue answers 429 with Retry-After, and shutdown drains it', async () => {
  // The writer waits for a batch of 100,000 or an hour, so nothing leaves the queue.
  const first = await startTestApp({
    queue: { type: 'memory', max_events: 5, overflow_policy: 'reject', retry_after: '2s' },
    writer: { batch_size: 100_000, flush_interval: '1h', idle_flush: 0 },
  })
  const tag = randomUUID()

  const accepted = await postEvents(first.url, { events: [event(tag), event(tag), event(tag)] })
  assert.equal(accepted.status, 200)
  const fits = await postEvents(first.url, { events: [event(tag), event(tag)] })
  assert.equal(fits.status, 200)

  const refused = await postEvents(first.url, { events: [event(tag)] })
  assert.equal(refused.status, 429)
  assert.equal(errorCode(refused), 'SIEM_ERR_QUEUE_FULL')
  assert.equal(refused.headers.get('retry-after'), '2')
  assert.equal(typeof refused.body['request_id'], 'string')

  const tooBig = await postEvents(first.url, { events: Array.from({ length: 6 }, () => event(tag)) })
  // Waiting cannot make room for a request larger than the whole queue, so it is a 413 without Retry-After.
  assert.equal(tooBig.status, 413)
  assert.equal(errorCode(tooBig), 'SIEM_ERR_INGEST_BATCH_TOO_LARGE')
  assert.equal(tooBig.headers.get('retry-after'), null)

  assert.equal(await metricValue(first.url, 'siem_events_rejected_total', { source: 'http', reason: 'SIEM_ERR_QUEUE_FULL' }), 1)
  assert.equal(await metricValue(first.url, 'siem_events_rejected_total', { source: 'http', reason: 'SIEM_ERR_INGEST_BATCH_TOO_LARGE' }), 6)
  assert.equal(await metricValue(first.url, 'siem_queue_depth_events'), 5)
  const health = await request(`${first.url}/health`)
  assert.equal(health.body['status'], 'degraded')
  assert.equal((health.body['queue'] as Record<string, number>)['depth_events'], 5)

  const badAck = await postEvents(`${first.url}`, { events: [event(tag)] }, { 'x-siem-ack': 'eventually' })
  assert.equal(badAck.status, 400)
  assert.equal(errorCode(badAck), 'SIEM_ERR_INGEST_INVALID_ACK_MODE')

  assert.equal(await countRows(first.app, 'events', `target = '${tag}'`), 0, 'nothing is written before shutdown')
  assert.equal(await first.close({ keepData: true }), true, 'shutdown stores what the queue holds')

  const second = await startTestApp({}, first.dataDir)
  try {
    assert.equal(await countRows(second.app, 'events', `target = '${tag}'`), 5)
  } finally {
    await second.close()
  }
})
