import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { RequestPool, TAG_DIGITS } from '../../bench/workers/request-pool.js'

interface PostedEvent {
  event_id: string
  source: { instance_id: string; product: string }
  action: string
}

function parseBody(body: Buffer): PostedEvent[] {
  return (JSON.parse(body.toString('utf8')) as { events: PostedEvent[] }).events
}

describe('benchmark request pool', () => {
  test('body carries new ids and tag', () => {
    const pool = new RequestPool(7, 2, 50, Date.now(), 'e2e-')
    const first = pool.build(42)
    const events = parseBody(first.body)
    assert.equal(events.length, 50)
    assert.deepEqual(
      events.map((event) => event.event_id),
      first.eventIds,
    )
    assert.equal(new Set(first.eventIds).size, 50)
    for (const event of events) {
      assert.match(event.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.equal(event.source.instance_id, `e2e-${'42'.padStart(TAG_DIGITS, '0')}`)
      assert.equal(typeof event.action, 'string')
    }
  })

  test('entries rotate and ids never repeat', () => {
    const pool = new RequestPool(7, 2, 20, Date.now(), 'soak-')
    const bodies = [pool.build(1), pool.build(2), pool.build(3)]
    const [first, second, third] = bodies.map((built) => parseBody(built.body)) as [PostedEvent[], PostedEvent[], PostedEvent[]]
    // The third request reuses the first entry's events with new ids and its own tag.
    assert.deepEqual(
      third.map((event) => event.action),
      first.map((event) => event.action),
    )
    assert.notDeepEqual(
      second.map((event) => event.action),
      first.map((event) => event.action),
    )
    const ids = bodies.flatMap((built) => built.eventIds)
    assert.equal(new Set(ids).size, 60)
    assert.equal(third[0]?.source.instance_id, `soak-${'3'.padStart(TAG_DIGITS, '0')}`)
  })

  test('template stays unchanged between builds', () => {
    const pool = new RequestPool(3, 1, 10, Date.now(), 'rate-')
    const first = pool.build(5)
    const copy = Buffer.from(first.body)
    pool.build(6)
    assert.deepEqual(first.body, copy)
  })

  test('request number too long is rejected', () => {
    const pool = new RequestPool(3, 1, 1, Date.now(), 'rate-')
    assert.throws(() => pool.build(10 ** TAG_DIGITS), /more than 10 digits/)
  })
})
