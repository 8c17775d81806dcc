import { describe, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate } from 'node:timers/promises'
import { isSiemError } from '../../src/errors.js'
import type { Batch } from '../../src/queue/types.js'
import { eventIds, makeItems, makeTempDir, metricValue, openSpool, spoolConfig } from './support/spool-helpers.js'

describe('SpoolQueue', () => {
  test('enqueue, take and commit', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    try {
      await queue.enqueue(makeItems('a', 3), { ack: 'durable' })
      await queue.enqueue(makeItems('b', 2), { ack: 'durable' })
      assert.equal(queue.stats().depthEvents, 5)
      const batch = await queue.take(5, 60_000)
      assert.ok(batch !== null)
      assert.deepEqual(eventIds(batch.items), ['a-0', 'a-1', 'a-2', 'b-0', 'b-1'])
      await queue.commit(batch.id)
      assert.equal(queue.stats().depthEvents, 0)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('take waits for maxWaitMs when the batch is not full', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.now() })
    try {
      const enqueued = queue.enqueue(makeItems('a', 2), { ack: 'durable' })
      mock.timers.tick(2)
      await enqueued
      let batch: Batch | null | undefined
      const pending = queue.take(10, 150).then((result) => {
        batch = result
      })
      // 2 ms have passed since the enqueue: the oldest event is 150 ms old after 148 more.
      mock.timers.tick(147)
      await setImmediate()
      assert.equal(batch, undefined)
      mock.timers.tick(1)
      // The batch's seal record waits for the group commit delay.
      mock.timers.tick(2)
      await pending
      assert.deepEqual(eventIds(batch!.items), ['a-0', 'a-1'])
    } finally {
      mock.timers.reset()
      await queue.close()
      await temp.remove()
    }
  })

  test('take seals a partial batch when input goes idle', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.now() })
    try {
      let batch: Batch | null | undefined
      const pending = queue.take(10, 60_000, undefined, { idleFlush: { afterMs: 100, minItems: 3, minAgeMs: 0 } }).then((result) => {
        batch = result
      })
      const first = queue.enqueue(makeItems('a', 2), { ack: 'durable' })
      mock.timers.tick(2)
      await first
      mock.timers.tick(150)
      await setImmediate()
      assert.equal(batch, undefined, 'two events are below the minimum of three')
      const second = queue.enqueue(makeItems('b', 2), { ack: 'durable' })
      mock.timers.tick(2)
      await second
      // The newest events were enqueued 2 ms ago, so the input is idle after 98 ms more.
      mock.timers.tick(97)
      await setImmediate()
      assert.equal(batch, undefined)
      mock.timers.tick(1)
      // The batch's seal record waits for the group commit delay.
      mock.timers.tick(2)
      await pending
      assert.deepEqual(eventIds(batch!.items), ['a-0', 'a-1', 'b-0', 'b-1'])
    } finally {
      mock.timers.reset()
      await queue.close()
      await temp.remove()
    }
  })

  test('take returns a full batch before maxWaitMs', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    try {
      const pending = queue.take(4, 3_600_000)
      await queue.enqueue(makeItems('a', 6), { ack: 'durable' })
      const batch = await pending
      assert.deepEqual(eventIds(batch!.items), ['a-0', 'a-1', 'a-2', 'a-3'])
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('drain makes take return at once', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    try {
      await queue.enqueue(makeItems('a', 2), { ack: 'durable' })
      const pending = queue.take(100, 3_600_000)
      queue.drain()
      const batch = await pending
      assert.equal(batch!.items.length, 2)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('concurrent takes get distinct events', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    try {
      const first = queue.take(3, 3_600_000)
      const second = queue.take(3, 3_600_000)
      await queue.enqueue(makeItems('a', 6), { ack: 'durable' })
      const batches = await Promise.all([first, second])
      assert.deepEqual(eventIds(batches[0]!.items), ['a-0', 'a-1', 'a-2'])
      assert.deepEqual(eventIds(batches[1]!.items), ['a-3', 'a-4', 'a-5'])
      assert.notEqual(batches[0]!.id, batches[1]!.id)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('aborted take resolves with null', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    try {
      const controller = new AbortController()
      const pending = queue.take(10, 3_600_000, controller.signal)
      controller.abort()
      assert.equal(await pending, null)
      await queue.enqueue(makeItems('a', 1), { ack: 'durable' })
      queue.drain()
      const batch = await queue.take(10, 0)
      assert.deepEqual(eventIds(batch!.items), ['a-0'])
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('close resolves waiting takes with null', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    const pending = queue.take(10, 3_600_000)
    await queue.close()
    assert.equal(await pending, null)
    assert.equal(await queue.take(10, 0), null)
    await queue.close()
    await temp.remove()
  })

  test('memory ack resolves before the events are written', async () => {
    const temp = await makeTempDir()
    const { queue, registry } = await openSpool(spoolConfig(temp.dir, { spool: { group_commit_delay: '200ms' } }))
    try {
      await queue.enqueue(makeItems('a', 2), { ack: 'memory' })
      const fsyncs = await metricValue(registry, 'siem_spool_fsync_duration_seconds', 'siem_spool_fsync_duration_seconds_count')
      assert.equal(fsyncs, 0)
      assert.equal(queue.stats().depthEvents, 2)
      queue.drain()
      const batch = await queue.take(10, 0)
      assert.deepEqual(eventIds(batch!.items), ['a-0', 'a-1'])
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('committed ack resolves after the commit', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    try {
      let acked = false
      const enqueued = queue.enqueue(makeItems('a', 4), { ack: 'committed' }).then(() => {
        acked = true
      })
      const first = await queue.take(2, 3_600_000)
      const second = await queue.take(2, 3_600_000)
      await queue.commit(first!.id)
      assert.equal(acked, false)
      await queue.commit(second!.id)
      await enqueued
      assert.equal(acked, true)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('committed ack is rejected when the spool closes first', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    const enqueued = queue.enqueue(makeItems('a', 1), { ack: 'committed' })
    await queue.close()
    await assert.rejects(enqueued, (err) => isSiemError(err, 'SIEM_ERR_QUEUE_CLOSED'))
    await temp.remove()
  })

  test('enqueue after close is rejected', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    await queue.close()
    await assert.rejects(queue.enqueue(makeItems('a', 1), { ack: 'durable' }), (err) => isSiemError(err, 'SIEM_ERR_QUEUE_CLOSED'))
    await temp.remove()
  })

  test('stats and metrics count the spool', async () => {
    const temp = await makeTempDir()
    const { queue, registry } = await openSpool(spoolConfig(temp.dir, { spool: { max_bytes: '1MiB' } }))
    try {
      await queue.enqueue(makeItems('a', 10), { ack: 'durable' })
      const stats = queue.stats()
      assert.equal(stats.depthEvents, 10)
      assert.equal(stats.capacityBytes, 1024 * 1024)
      assert.ok(stats.depthBytes > 10 * 400, `depthBytes ${stats.depthBytes}`)
      assert.equal(await metricValue(registry, 'siem_spool_bytes'), stats.depthBytes)
      assert.equal(await metricValue(registry, 'siem_spool_segments'), 1)
      assert.ok((await metricValue(registry, 'siem_spool_oldest_unacknowledged_age_seconds')) >= 0)
      assert.ok((await metricValue(registry, 'siem_spool_fsync_duration_seconds', 'siem_spool_fsync_duration_seconds_count')) >= 1)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('start and close are safe twice', async () => {
    const temp = await makeTempDir()
    const { queue } = await openSpool(spoolConfig(temp.dir))
    await queue.start()
    await queue.enqueue(makeItems('a', 1), { ack: 'durable' })
    await Promise.all([queue.close(), queue.close()])
    await temp.remove()
  })
})
