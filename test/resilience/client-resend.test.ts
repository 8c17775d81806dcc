import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { queryRows, startTestApp, type TestApp } from '../support/app.js'
import { makeEvents, type InputEvent } from './support/events.js'
import { startService, writeConfigFile } from './support/service-process.js'
import { cliReader, readStoredState } from './support/stored-events.js'

let app: TestApp

before(async () => {
  app = await startTestApp({ queue: { type: 'spool' } })
})

after(async () => {
  await app.close()
})

interface EventsResponseBody {
  accepted: number
  duplicates: number
  event_ids: string[]
}

async function post(events: unknown[], ack = 'durable', url = app.url): Promise<{ status: number; body: EventsResponseBody }> {
  const response = await fetch(`${url}/v1/events?ack=${ack}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  })
  return { status: response.status, body: (await response.json()) as EventsResponseBody }
}

async function duplicatesSkipped(): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text()
  const line = text.split('\n').find((entry) => entry.startsWith('siem_events_duplicates_skipped_total{source="http"}'))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

/** Rows per event id in `events` for the given events, after the queue is drained by a committed ack. */
async function storedCounts(events: InputEvent[]): Promise<Map<string, number>> {
  const barrier = await post(makeEvents(1, 'resend_barrier'), 'committed')
  assert.equal(barrier.status, 200)
  const rows = await queryRows<{ id: string; c: string }>(
    app.app,
    'SELECT toString(event_id) AS id, count() AS c FROM events WHERE event_id IN {ids:Array(UUID)} GROUP BY event_id',
    { ids: events.map((event) => event.event_id) },
  )
  return new Map(rows.map((row) => [row.id, Number(row.c)]))
}

function assertStoredOnce(counts: Map<string, number>, events: InputEvent[]): void {
  for (const event of events) assert.equal(counts.get(event.event_id), 1, `event ${event.event_id} stored ${counts.get(event.event_id) ?? 0} times`)
}

describe('client re-sends', () => {
  test('second post of a request is skipped', async () => {
    const events = makeEvents(50, 'resend_twice')
    const skippedBefore = await duplicatesSkipped()
    const first = await post(events)
    const second = await post(events)
    assert.equal(first.status, 200)
    assert.equal(first.body.accepted, 50)
    assert.equal(first.body.duplicates, 0)
    assert.equal(second.status, 200)
    assert.equal(second.body.accepted, 0)
    assert.equal(second.body.duplicates, 50)
    assert.deepEqual(second.body.event_ids, events.map((event) => event.event_id))
    assert.equal((await duplicatesSkipped()) - skippedBefore, 50)
    assertStoredOnce(await storedCounts(events), events)
  })

  test('concurrent re-sends store once', async () => {
    const events = makeEvents(40, 'resend_concurrent')
    const skippedBefore = await duplicatesSkipped()
    const replies = await Promise.all([post(events), post(events), post(events)])
    for (const reply of replies) assert.equal(reply.status, 200)
    const accepted = replies.reduce((sum, reply) => sum + reply.body.accepted, 0)
    const duplicates = replies.reduce((sum, reply) => sum + reply.body.duplicates, 0)
    assert.equal(accepted, 40)
    assert.equal(duplicates, 80)
    assert.equal((await duplicatesSkipped()) - skippedBefore, 80)
    assertStoredOnce(await storedCounts(events), events)
  })

  test('re-send after the commit is skipped', async () => {
    const events = makeEvents(20, 'resend_committed')
    const first = await post(events, 'committed')
    assert.equal(first.body.accepted, 20)
    const second = await post(events, 'committed')
    assert.equal(second.body.duplicates, 20)
    assertStoredOnce(await storedCounts(events), events)
  })

  test('overlapping request stores only new ids', async () => {
    const old = makeEvents(10, 'resend_overlap')
    const fresh = makeEvents(10, 'resend_overlap')
    await post(old)
    const mixed = await post([...old.slice(0, 5), ...fresh])
    assert.equal(mixed.body.accepted, 10)
    assert.equal(mixed.body.duplicates, 5)
    assertStoredOnce(await storedCounts([...old, ...fresh]), [...old, ...fresh])
  })

  test('id repeated within one request', async () => {
    const [event] = makeEvents(1, 'resend_inner')
    assert.ok(event !== undefined)
    const reply = await post([event, { ...event }])
    assert.equal(reply.body.accepted, 1)
    assert.equal(reply.body.duplicates, 1)
    assertStoredOnce(await storedCounts([event]), [event])
  })

  test('events without an id are never skipped', async () => {
    const bodies = makeEvents(5, 'resend_no_id').map(({ event_id: _omitted, ...rest }) => rest)
    const first = await post(bodies)
    const second = await post(bodies)
    assert.equal(first.body.accepted, 5)
    assert.equal(second.body.accepted, 5)
    assert.equal(second.body.duplicates, 0)
    assert.equal(new Set([...first.body.event_ids, ...second.body.event_ids]).size, 10)
  })
})

describe('client re-sends after a rejection', () => {
  test('ids of a rejected request are accepted later', async () => {
    // A spool too small for the whole request rejects it with 503; the ids
    // it claimed must be released, or the sender's retry in smaller pieces
    // would be skipped as duplicates of events that were never stored.
    const workDir = await mkdtemp(join(tmpdir(), 'siem-resend-rejected-'))
    const dataDir = join(workDir, 'data')
    const configFile = writeConfigFile(join(workDir, 'config.yaml'), {
      queue: { spool: { max_bytes: '24KiB', segment_size: '8KiB' } },
      writer: { flush_interval: '50ms' },
    })
    const service = await startService({ dataDir, configFile })
    try {
      const events = makeEvents(60, 'resend_rejected')
      const rejected = await post(events, 'durable', service.url)
      assert.equal(rejected.status, 503)
      for (let start = 0; start < events.length; start += 10) {
        const piece = await post(events.slice(start, start + 10), 'committed', service.url)
        assert.equal(piece.status, 200)
        assert.equal(piece.body.accepted, 10)
        assert.equal(piece.body.duplicates, 0)
      }
      assert.equal((await service.stop()).code, 0)
      const state = await readStoredState(cliReader({ dataDir, configFile }), 'resend_rejected')
      assert.deepEqual([...state.events.keys()].sort(), events.map((event) => event.event_id).sort())
    } finally {
      await service.kill()
      await rm(workDir, { recursive: true, force: true })
    }
  })
})
