import { afterEach, beforeEach, describe, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { QueueConfig } from '../../src/config/types.js'
import { type SiemError, isSiemError } from '../../src/errors.js'
import { MemoryQueue } from '../../src/queue/memory-queue.js'
import { estimateItemBytes, type Batch } from '../../src/queue/types.js'
import type { QueueItem } from '../../src/schema/event.js'

const BASE: QueueConfig = {
  type: 'memory',
  max_events: 10,
  max_bytes: 1024 * 1024,
  overflow_policy: 'reject',
  block_timeout: 2000,
  retry_after: 2500,
  spool: { dir: '', segment_size: 0, max_bytes: 0, fsync: false, group_commit_delay: 0 },
}

/** A quarantine item; its raw text makes it unique and sizes it. */
function item(tag: string, rawLength = 10): QueueItem {
  return {
    table: 'quarantine',
    row: {
      quarantine_id: '00000000-0000-4000-8000-000000000000',
      quarantined_at: '2026-04-15 10:00:00.000000',
      tenant_id: 'default',
      raw_event: `${tag}:`.padEnd(rawLength, 'x'),
      source_ip: '127.0.0.1',
      source_format: 'json',
      validation_errors: [],
      error_code: 'test',
    },
  }
}

function items(prefix: string, count: number): QueueItem[] {
  return Array.from({ length: count }, (_, index) => item(`${prefix}${index}`))
}

function tags(batch: Batch | null): string[] {
  assert.ok(batch !== null, 'expected a batch, got null')
  return batch.items.map((entry) => (entry.table === 'quarantine' ? entry.row.raw_event.split(':')[0] as string : entry.row.event_id))
}

interface LogCapture {
  lines: Array<Record<string, unknown>>
}

function makeQueue(config: Partial<QueueConfig> = {}, capture?: LogCapture): MemoryQueue {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      capture?.lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    },
  })
  return new MemoryQueue({ config: { ...BASE, ...config }, logger: pino({ level: 'info' }, stream) })
}

/** Tracks whether a promise settled, so a test can check it has not yet. */
function track<T>(promise: Promise<T>): { settled: () => boolean; value: () => T | undefined; error: () => unknown } {
  let done = false
  let value: T | undefined
  let error: unknown
  promise.then(
    (v) => {
      done = true
      value = v
    },
    (err: unknown) => {
      done = true
      error = err
    },
  )
  return { settled: () => done, value: () => value, error: () => error }
}

/** Lets pending promise callbacks run; setImmediate is not faked. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

function assertQueueError(err: unknown, code: string): void {
  assert.ok(isSiemError(err), `expected a SiemError, got ${String(err)}`)
  assert.equal(err.code, code)
}

describe('MemoryQueue bounds', () => {
  test('counts events and bytes until commit', async () => {
    const queue = makeQueue()
    const batchItems = items('a', 3)
    await queue.enqueue(batchItems, { ack: 'memory' })
    const bytes = batchItems.reduce((sum, entry) => sum + estimateItemBytes(entry), 0)
    assert.deepEqual(queue.stats(), { depthEvents: 3, depthBytes: bytes, capacityEvents: 10, capacityBytes: 1024 * 1024, dropped: 0 })
    queue.drain()
    const batch = await queue.take(10, 0)
    assert.equal(queue.stats().depthEvents, 3, 'items being written still count')
    await queue.commit((batch as Batch).id)
    assert.equal(queue.stats().depthEvents, 0)
    assert.equal(queue.stats().depthBytes, 0)
  })

  test('rejects a request larger than the whole queue under every policy', async () => {
    for (const policy of ['reject', 'drop_oldest', 'block'] as const) {
      const queue = makeQueue({ overflow_policy: policy })
      await assert.rejects(queue.enqueue(items('a', 11), { ack: 'memory' }), (err: unknown) => {
        // Waiting cannot make room for it, so it is a 413 without Retry-After.
        assertQueueError(err, 'SIEM_ERR_INGEST_BATCH_TOO_LARGE')
        assert.equal((err as SiemError).statusCode, 413)
        assert.equal((err as SiemError).retryAfterSeconds, undefined)
        return true
      })
      assert.equal(queue.stats().depthEvents, 0)
    }
  })

  test('bounds bytes as well as events', async () => {
    const big = item('big', 2000)
    const queue = makeQueue({ max_bytes: estimateItemBytes(big) * 2 })
    await queue.enqueue([big, item('b2', 2000)], { ack: 'memory' })
    await assert.rejects(queue.enqueue([item('c')], { ack: 'memory' }), (err: unknown) => {
      assertQueueError(err, 'SIEM_ERR_QUEUE_FULL')
      return true
    })
  })

  test('enqueues in one tick cannot overshoot the bounds', async () => {
    const queue = makeQueue({ max_events: 3 })
    const first = queue.enqueue(items('a', 2), { ack: 'memory' })
    const second = queue.enqueue(items('b', 2), { ack: 'memory' })
    await first
    await assert.rejects(second, (err: unknown) => {
      assertQueueError(err, 'SIEM_ERR_QUEUE_FULL')
      return true
    })
    assert.equal(queue.stats().depthEvents, 2)

    const dropping = makeQueue({ max_events: 3, overflow_policy: 'drop_oldest' })
    await Promise.all([dropping.enqueue(items('a', 2), { ack: 'memory' }), dropping.enqueue(items('b', 2), { ack: 'memory' })])
    assert.equal(dropping.stats().depthEvents, 3)
    assert.equal(dropping.stats().dropped, 1)
  })

  test('an empty enqueue is accepted', async () => {
    const queue = makeQueue()
    await queue.enqueue([], { ack: 'committed' })
    assert.equal(queue.stats().depthEvents, 0)
  })
})

describe('MemoryQueue overflow policies', () => {
  test('reject answers QUEUE_FULL with Retry-After', async () => {
    const queue = makeQueue({ overflow_policy: 'reject' })
    await queue.enqueue(items('a', 8), { ack: 'memory' })
    await assert.rejects(queue.enqueue(items('b', 3), { ack: 'memory' }), (err: unknown) => {
      assertQueueError(err, 'SIEM_ERR_QUEUE_FULL')
      assert.ok(isSiemError(err))
      assert.equal(err.retryAfterSeconds, 3)
      assert.equal(err.statusCode, 429)
      return true
    })
    assert.equal(queue.stats().depthEvents, 8, 'a rejected request adds nothing')
    await queue.enqueue(items('c', 2), { ack: 'memory' })
    assert.equal(queue.stats().depthEvents, 10)
  })

  test('drop_oldest drops waiting items oldest first, counts and logs them', async () => {
    const capture: LogCapture = { lines: [] }
    const queue = makeQueue({ overflow_policy: 'drop_oldest' }, capture)
    await queue.enqueue(items('a', 10), { ack: 'memory' })
    await queue.enqueue(items('b', 3), { ack: 'memory', origin: 'req-7' })
    assert.equal(queue.stats().dropped, 3)
    assert.equal(queue.stats().depthEvents, 10)
    queue.drain()
    const batch = await queue.take(20, 0)
    assert.deepEqual(tags(batch), ['a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'b0', 'b1', 'b2'])
    const warning = capture.lines.find((line) => line['msg'] === 'queue full: dropped oldest events')
    assert.ok(warning !== undefined, 'a warning is logged')
    assert.equal(warning['dropped'], 3)
    assert.equal(warning['origin'], 'req-7')
  })

  test('drop_oldest fails a committed enqueue whose items it drops', async () => {
    const queue = makeQueue({ overflow_policy: 'drop_oldest', max_events: 4 })
    const committed = track(queue.enqueue(items('a', 2), { ack: 'committed' }))
    await settle()
    await queue.enqueue(items('b', 3), { ack: 'memory' })
    await settle()
    assert.equal(committed.settled(), true)
    assertQueueError(committed.error(), 'SIEM_ERR_QUEUE_FULL')
    assert.equal(queue.stats().dropped, 1)
  })

  test('drop_oldest never drops items being written', async () => {
    const queue = makeQueue({ overflow_policy: 'drop_oldest' })
    await queue.enqueue(items('a', 8), { ack: 'memory' })
    const inFlight = await queue.take(8, 60_000)
    await assert.rejects(queue.enqueue(items('b', 3), { ack: 'memory' }), (err: unknown) => {
      assertQueueError(err, 'SIEM_ERR_QUEUE_FULL')
      return true
    })
    assert.equal(queue.stats().dropped, 0)
    await queue.commit((inFlight as Batch).id)
    await queue.enqueue(items('b', 3), { ack: 'memory' })
    assert.equal(queue.stats().depthEvents, 3)
  })

  describe('block', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }))
    afterEach(() => mock.timers.reset())

    test('waits for a commit to make room', async () => {
      const queue = makeQueue({ overflow_policy: 'block' })
      await queue.enqueue(items('a', 9), { ack: 'memory' })
      const blocked = track(queue.enqueue(items('b', 3), { ack: 'memory' }))
      await settle()
      assert.equal(blocked.settled(), false)
      const batch = await queue.take(5, 0)
      await settle()
      assert.equal(blocked.settled(), false, 'taking alone frees no room')
      await queue.commit((batch as Batch).id)
      await settle()
      assert.equal(blocked.settled(), true)
      assert.equal(blocked.error(), undefined)
      assert.equal(queue.stats().depthEvents, 7)
    })

    test('times out after block_timeout with QUEUE_TIMEOUT', async () => {
      const queue = makeQueue({ overflow_policy: 'block', block_timeout: 2000 })
      await queue.enqueue(items('a', 10), { ack: 'memory' })
      const blocked = track(queue.enqueue(items('b', 1), { ack: 'memory' }))
      mock.timers.tick(1999)
      await settle()
      assert.equal(blocked.settled(), false)
      mock.timers.tick(1)
      await settle()
      assertQueueError(blocked.error(), 'SIEM_ERR_QUEUE_TIMEOUT')
      assert.equal(queue.stats().depthEvents, 10)
    })

    test('close ends the wait with QUEUE_CLOSED', async () => {
      const queue = makeQueue({ overflow_policy: 'block' })
      await queue.enqueue(items('a', 10), { ack: 'memory' })
      const blocked = track(queue.enqueue(items('b', 1), { ack: 'memory' }))
      await queue.close()
      await settle()
      assertQueueError(blocked.error(), 'SIEM_ERR_QUEUE_CLOSED')
    })
  })
})

describe('MemoryQueue take', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }))
  afterEach(() => mock.timers.reset())

  test('a full batch is handed over at once', async () => {
    const queue = makeQueue({ max_events: 100 })
    await queue.enqueue(items('a', 7), { ack: 'memory' })
    const batch = await queue.take(5, 60_000)
    assert.deepEqual(tags(batch), ['a0', 'a1', 'a2', 'a3', 'a4'])
  })

  test('a waiting taker gets a partial batch only after max wait', async () => {
    const queue = makeQueue({ max_events: 100 })
    const taken = track(queue.take(10, 1000))
    mock.timers.tick(300)
    await queue.enqueue(items('a', 2), { ack: 'memory' })
    await settle()
    assert.equal(taken.settled(), false, 'two items are not a full batch')
    mock.timers.tick(999)
    await settle()
    assert.equal(taken.settled(), false, 'the oldest item is 999 ms old')
    mock.timers.tick(1)
    await settle()
    assert.deepEqual(tags(taken.value() ?? null), ['a0', 'a1'])
  })

  test('max wait counts from the oldest item, not from the take', async () => {
    const queue = makeQueue({ max_events: 100 })
    await queue.enqueue(items('a', 1), { ack: 'memory' })
    mock.timers.tick(700)
    const taken = track(queue.take(10, 1000))
    await settle()
    assert.equal(taken.settled(), false)
    mock.timers.tick(299)
    await settle()
    assert.equal(taken.settled(), false)
    mock.timers.tick(1)
    await settle()
    assert.deepEqual(tags(taken.value() ?? null), ['a0'])
  })

  test('a waiting taker gets a full batch as soon as it fills', async () => {
    const queue = makeQueue({ max_events: 100 })
    const taken = track(queue.take(4, 60_000))
    await queue.enqueue(items('a', 2), { ack: 'memory' })
    await settle()
    assert.equal(taken.settled(), false)
    await queue.enqueue(items('b', 3), { ack: 'memory' })
    await settle()
    assert.deepEqual(tags(taken.value() ?? null), ['a0', 'a1', 'b0', 'b1'])
    const rest = await queue.take(4, 0)
    assert.deepEqual(tags(rest), ['b2'])
  })

  test('two takers get distinct batches in order', async () => {
    const queue = makeQueue({ max_events: 100 })
    const first = queue.take(3, 60_000)
    const second = queue.take(3, 60_000)
    await queue.enqueue(items('a', 6), { ack: 'memory' })
    assert.deepEqual(tags(await first), ['a0', 'a1', 'a2'])
    assert.deepEqual(tags(await second), ['a3', 'a4', 'a5'])
    const ids = new Set([(await first)?.id, (await second)?.id])
    assert.equal(ids.size, 2)
  })

  test('drain hands over what waits without delay', async () => {
    const queue = makeQueue({ max_events: 100 })
    await queue.enqueue(items('a', 2), { ack: 'memory' })
    const taken = track(queue.take(10, 60_000))
    await settle()
    assert.equal(taken.settled(), false)
    queue.drain()
    await settle()
    assert.deepEqual(tags(taken.value() ?? null), ['a0', 'a1'])
  })

  test('drain refuses new events', async () => {
    const queue = makeQueue()
    queue.drain()
    await assert.rejects(queue.enqueue(items('a', 1), { ack: 'memory' }), (err: unknown) => {
      assertQueueError(err, 'SIEM_ERR_QUEUE_CLOSED')
      return true
    })
  })

  test('an aborted take resolves null and takes nothing', async () => {
    const queue = makeQueue({ max_events: 100 })
    const controller = new AbortController()
    const taken = queue.take(10, 60_000, controller.signal)
    controller.abort()
    assert.equal(await taken, null)
    await queue.enqueue(items('a', 1), { ack: 'memory' })
    queue.drain()
    assert.deepEqual(tags(await queue.take(10, 0)), ['a0'])
    assert.equal(await queue.take(10, 0, AbortSignal.abort()), null)
  })

  test('close resolves waiting takers with null once empty', async () => {
    const queue = makeQueue({ max_events: 100 })
    const taken = queue.take(10, 60_000)
    await queue.close()
    assert.equal(await taken, null)
    assert.equal(await queue.take(10, 0), null)
    await queue.close()
  })

  test('committed ack resolves only when every item is committed', async () => {
    const queue = makeQueue({ max_events: 100 })
    const enqueued = track(queue.enqueue(items('a', 4), { ack: 'committed' }))
    const first = await queue.take(2, 0)
    await queue.commit((first as Batch).id)
    await settle()
    assert.equal(enqueued.settled(), false, 'half the items are committed')
    const second = await queue.take(2, 0)
    await queue.commit((second as Batch).id)
    await settle()
    assert.equal(enqueued.settled(), true)
    assert.equal(enqueued.error(), undefined)
  })

  test('commit of an unknown batch changes nothing', async () => {
    const queue = makeQueue()
    await queue.enqueue(items('a', 2), { ack: 'memory' })
    await queue.commit('no-such-batch')
    assert.equal(queue.stats().depthEvents, 2)
  })
})
