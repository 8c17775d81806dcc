import { describe, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { isSiemError, type SiemError } from '../../src/errors.js'
import type { SpoolQueue } from '../../src/queue/spool/spool-queue.js'
import {
  FaultyFileSystem,
  eventIds,
  makeItems,
  makeTempDir,
  metricValue,
  openSpool,
  recordingLogger,
  spoolConfig,
} from './support/spool-helpers.js'

/** Enqueues records of 10 events until the spool rejects one; returns the ids acknowledged and the error. */
async function fillSpool(queue: SpoolQueue): Promise<{ acked: string[]; error: unknown }> {
  const acked: string[] = []
  for (let i = 0; i < 1000; i++) {
    const items = makeItems(`r${i}`, 10)
    try {
      await queue.enqueue(items, { ack: 'durable' })
      acked.push(...eventIds(items))
    } catch (error) {
      return { acked, error }
    }
  }
  throw new Error('the spool never reached its disk cap')
}

async function takeAll(queue: SpoolQueue): Promise<string[]> {
  queue.drain()
  const ids: string[] = []
  while (queue.stats().depthEvents > 0) {
    const batch = await queue.take(25, 0)
    assert.ok(batch !== null)
    ids.push(...eventIds(batch.items))
    await queue.commit(batch.id)
  }
  return ids
}

describe('SpoolQueue faults', () => {
  for (const policy of ['reject', 'drop_oldest'] as const) {
    test(`disk cap rejects with SIEM_ERR_SPOOL_FULL (${policy})`, async () => {
      const temp = await makeTempDir()
      const { queue } = await openSpool(spoolConfig(temp.dir, { overflow_policy: policy, spool: { max_bytes: '64KiB' } }))
      try {
        const { acked, error } = await fillSpool(queue)
        assert.ok(isSiemError(error, 'SIEM_ERR_SPOOL_FULL'), String(error))
        assert.equal((error as SiemError).statusCode, 503)
        assert.equal((error as SiemError).retryAfterSeconds, 1)
        assert.ok(acked.length > 0)
        assert.ok(queue.stats().depthBytes <= 64 * 1024)
        assert.equal(queue.stats().dropped, 0)
        assert.deepEqual(await takeAll(queue), acked)
        // Committed segments are deleted, so the spool takes events again.
        await queue.enqueue(makeItems('after', 10), { ack: 'durable' })
      } finally {
        await queue.close()
        await temp.remove()
      }
    })
  }

  test('block policy waits for room', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir, { overflow_policy: 'block', block_timeout: '1m', spool: { max_bytes: '64KiB' } })
    const { queue } = await openSpool(config)
    try {
      const filled: string[] = []
      while (queue.stats().depthBytes < 48 * 1024) {
        const items = makeItems(`r${filled.length}`, 10)
        await queue.enqueue(items, { ack: 'durable' })
        filled.push(...eventIds(items))
      }
      const blocked = [0, 1, 2, 3].map((i) => queue.enqueue(makeItems(`blocked${i}`, 10), { ack: 'durable' }))
      const ids = await takeAll(queue)
      await Promise.all(blocked)
      ids.push(...(await takeAll(queue)))
      assert.equal(ids.length, filled.length + 40)
      assert.deepEqual(ids.slice(0, filled.length), filled)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('block policy times out with SIEM_ERR_QUEUE_TIMEOUT', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir, { overflow_policy: 'block', block_timeout: '5s', spool: { max_bytes: '64KiB' } })
    const { queue } = await openSpool(config)
    try {
      while (queue.stats().depthBytes < 56 * 1024) await queue.enqueue(makeItems('r', 10), { ack: 'durable' })
      mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.now() })
      const blocked = queue.enqueue(makeItems('late', 10), { ack: 'durable' })
      mock.timers.tick(5000)
      await assert.rejects(blocked, (err) => isSiemError(err, 'SIEM_ERR_QUEUE_TIMEOUT'))
    } finally {
      mock.timers.reset()
      await queue.close()
      await temp.remove()
    }
  })

  for (const fault of ['write', 'fsync'] as const) {
    test(`failed ${fault} rejects with SIEM_ERR_SPOOL_WRITE and recovers`, async () => {
      const temp = await makeTempDir()
      const files = new FaultyFileSystem()
      const log = recordingLogger()
      const config = spoolConfig(temp.dir, { retry_after: '20ms' })
      const { queue, registry } = await openSpool(config, { files, logger: log.logger })
      let batchId: string
      try {
        await queue.enqueue(makeItems('before', 3), { ack: 'durable' })
        if (fault === 'write') files.writeError = 'ENOSPC'
        else files.syncError = 'EIO'
        await assert.rejects(queue.enqueue(makeItems('failed', 3), { ack: 'durable' }), (err) => isSiemError(err, 'SIEM_ERR_SPOOL_WRITE'))
        await assert.rejects(queue.enqueue(makeItems('while', 3), { ack: 'memory' }), (err) => {
          return isSiemError(err, 'SIEM_ERR_SPOOL_WRITE') && err.retryAfterSeconds === 1
        })
        assert.ok((await metricValue(registry, 'siem_spool_write_errors_total')) >= 1)
        const failure = log.lines.find((line) => line['msg']?.toString().startsWith('spool write failed'))
        assert.ok(failure !== undefined)
        assert.equal(failure['code'], fault === 'write' ? 'ENOSPC' : 'EIO')
        assert.match(String(failure['segment']), /segment-\d+\.log$/)

        // The batch's seal record is written once a retry succeeds.
        queue.drain()
        const taking = queue.take(100, 0)
        files.writeError = null
        files.syncError = null
        const batch = await taking
        assert.deepEqual(eventIds(batch!.items), ['before-0', 'before-1', 'before-2'])
        batchId = batch!.id
        await queue.enqueue(makeItems('after', 3), { ack: 'durable' })
      } finally {
        await queue.close()
      }

      const reopened = recordingLogger()
      const second = await openSpool(config, { logger: reopened.logger })
      try {
        assert.equal(reopened.lines.filter((line) => line['msg'] === 'damaged spool record skipped').length, 0)
        const replayed = await second.queue.take(100, 0)
        assert.equal(replayed!.id, batchId)
        await second.queue.commit(batchId)
        assert.deepEqual(await takeAll(second.queue), ['after-0', 'after-1', 'after-2'])
      } finally {
        await second.queue.close()
        await temp.remove()
      }
    })
  }

  test('memory-acknowledged events survive a failed write', async () => {
    const temp = await makeTempDir()
    const files = new FaultyFileSystem()
    const config = spoolConfig(temp.dir, { retry_after: '20ms' })
    const { queue } = await openSpool(config, { files })
    try {
      files.writeError = 'EIO'
      await queue.enqueue(makeItems('m', 3), { ack: 'memory' })
      await assert.rejects(queue.enqueue(makeItems('d', 3), { ack: 'durable' }), (err) => isSiemError(err, 'SIEM_ERR_SPOOL_WRITE'))
      files.writeError = null
      queue.drain()
      const batch = await queue.take(100, 0)
      assert.deepEqual(eventIds(batch!.items), ['m-0', 'm-1', 'm-2'])
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('group commit shares one fsync among concurrent enqueues', async () => {
    const temp = await makeTempDir()
    const files = new FaultyFileSystem()
    const { queue, registry } = await openSpool(spoolConfig(temp.dir, { spool: { group_commit_delay: '2ms' } }), { files })
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const enqueues = Array.from({ length: 200 }, (_, i) => queue.enqueue(makeItems(`c${i}`, 5), { ack: 'durable' }))
      assert.equal(files.datasyncs, 0)
      mock.timers.tick(2)
      await Promise.all(enqueues)
      assert.equal(files.datasyncs, 1)
      assert.equal(files.writes, 1)
      assert.equal(await metricValue(registry, 'siem_spool_fsync_duration_seconds', 'siem_spool_fsync_duration_seconds_count'), 1)
      assert.equal(queue.stats().depthEvents, 1000)
    } finally {
      mock.timers.reset()
      await queue.close()
      await temp.remove()
    }
  })

  test('group commit under steady load needs few fsyncs', async () => {
    const temp = await makeTempDir()
    const files = new FaultyFileSystem()
    const { queue } = await openSpool(spoolConfig(temp.dir, { spool: { group_commit_delay: '5ms' } }), { files })
    try {
      const producers = Array.from({ length: 50 }, async (_, p) => {
        for (let i = 0; i < 20; i++) await queue.enqueue(makeItems(`p${p}-${i}`, 1), { ack: 'durable' })
      })
      await Promise.all(producers)
      // 1000 durable enqueues, 50 at a time: one fsync per round of 50 at most.
      assert.ok(files.datasyncs <= 25, `${files.datasyncs} fsyncs for 1000 enqueues`)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })
})

describe('SpoolQueue segment deletion', () => {
  test('segments stay until the commit record is written', async () => {
    const temp = await makeTempDir()
    const files = new FaultyFileSystem()
    const config = spoolConfig(temp.dir, { retry_after: '20ms', spool: { segment_size: '4KiB' } })
    const { queue, registry } = await openSpool(config, { files })
    try {
      for (let i = 0; i < 10; i++) await queue.enqueue(makeItems(`r${i}`, 2), { ack: 'durable' })
      const segments = await metricValue(registry, 'siem_spool_segments')
      queue.drain()
      const batch = await queue.take(1000, 0)
      files.writeError = 'EIO'
      const committed = queue.commit(batch!.id)
      // Until the retry succeeds, a restart would find the seal without its
      // commit record, so the events it names must stay on disk.
      await assert.rejects(queue.enqueue(makeItems('probe', 1), { ack: 'durable' }), (err) => isSiemError(err, 'SIEM_ERR_SPOOL_WRITE'))
      assert.equal(await metricValue(registry, 'siem_spool_segments'), segments)
      files.writeError = null
      await committed
      await queue.enqueue(makeItems('after', 2), { ack: 'durable' })
      assert.ok((await metricValue(registry, 'siem_spool_segments')) < segments)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })
})
