import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { countRows, startTestApp, waitFor } from '../support/app.js'
import { errorCode, metricValue, postEvents } from './request.js'

function event(tag: string, eventId?: string): Record<string, unknown> {
  return {
    ...(eventId === undefined ? {} : { event_id: eventId }),
    timestamp: new Date().toISOString(),
    source: { product: 'resend-after-timeout' },
    action: 'auth.login',
    target: tag,
  }
}

test('re-send during a blocked enqueue is stored', async () => {
  // The writer waits for an hour, so the queue of 100 events only empties at shutdown.
  const first = await startTestApp({
    queue: { type: 'memory', max_events: 100, overflow_policy: 'block', block_timeout: '500ms' },
    writer: { batch_size: 100_000, flush_interval: '1h', idle_flush: 0 },
  })
  const tag = randomUUID()
  const ids = Array.from({ length: 10 }, () => randomUUID())
  const resentIds = ids.slice(0, 5)
  let closed = false
  try {
    const filler = await postEvents(first.url, { events: Array.from({ length: 95 }, () => event(tag)) })
    assert.equal(filler.status, 200)

    // Ten events do not fit beside 95, so this request waits for room until its block timeout.
    const blocked = postEvents(first.url, { events: ids.map((id) => event(tag, id)) })
    // The pipeline counts a request as received after claiming its ids and before its enqueue.
    await waitFor(() => metricValue(first.url, 'siem_events_received_total'), (received) => received === 105)

    // Five of the same ids fit, so once the blocked request fails the re-send can be stored.
    const resent = await postEvents(first.url, { events: resentIds.map((id) => event(tag, id)) })
    const failed = await blocked
    assert.equal(failed.status, 503)
    assert.equal(errorCode(failed), 'SIEM_ERR_QUEUE_TIMEOUT')
    assert.equal(resent.status, 200, resent.text)
    assert.equal(resent.body['accepted'], 5)
    assert.equal(resent.body['duplicates'], 0)
    assert.equal(await metricValue(first.url, 'siem_queue_depth_events'), 100)

    closed = true
    assert.equal(await first.close({ keepData: true }), true, 'shutdown stores what the queue holds')
  } finally {
    // A failed check must not leave the app running, or the test process never exits.
    if (!closed) await first.close()
  }
  const second = await startTestApp({}, first.dataDir)
  try {
    const idList = resentIds.map((id) => `'${id}'`).join(', ')
    assert.equal(await countRows(second.app, 'events', `event_id IN (${idList})`), 5)
    assert.equal(await countRows(second.app, 'events', `target = '${tag}'`), 100)
  } finally {
    await second.close()
  }
})
