import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { Registry } from 'prom-client'
import { loadConfig } from '../../src/config/load.js'
import { SiemError } from '../../src/errors.js'
import { IngestPipeline } from '../../src/ingest/pipeline.js'
import type { Candidate, IngestContext, IngestResult } from '../../src/ingest/types.js'
import { IngestMetrics } from '../../src/metrics/pipeline-metrics.js'
import type { EventQueue } from '../../src/queue/types.js'
import type { QueueItem } from '../../src/schema/event.js'
import { EventValidator } from '../../src/schema/validate.js'

/** One enqueue call that the test settles by hand. */
interface HeldEnqueue {
  items: QueueItem[]
  resolve(): void
  reject(err: Error): void
}

/** Returns a queue whose enqueues wait until the test resolves or rejects them. */
function heldQueue(): { queue: EventQueue; calls: HeldEnqueue[] } {
  const calls: HeldEnqueue[] = []
  const queue = {
    enqueue(items: QueueItem[]): Promise<void> {
      return new Promise<void>((resolve, reject) => calls.push({ items, resolve, reject }))
    },
  } as unknown as EventQueue
  return { queue, calls }
}

function pipelineOn(queue: EventQueue, resendWaitMs?: number): IngestPipeline {
  const config = loadConfig({ env: {} })
  const validator = new EventValidator(config.validation)
  return new IngestPipeline({ config: config.ingest, validator, queue, metrics: new IngestMetrics(new Registry()), resendWaitMs })
}

const context: IngestContext = { tenantId: 'acme', sourceIp: '127.0.0.1', sourceFormat: 'json', requestId: 'r', ack: 'durable', listener: 'http' }

function events(ids: string[]): Candidate[] {
  return ids.map((id) => ({
    kind: 'object',
    value: { event_id: id, timestamp: new Date().toISOString(), source: { product: 'sshd' }, action: 'auth.login' },
  }))
}

function eventCount(call: HeldEnqueue | undefined): number {
  return call?.items.filter((item) => item.table === 'events').length ?? -1
}

/** Lets pending promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const queueTimeout = (): SiemError => new SiemError('SIEM_ERR_QUEUE_TIMEOUT', 'the queue stayed full', { retryAfterSeconds: 1 })

describe('re-send while the first request is unfinished', () => {
  test('stores the events when the first enqueue fails', async () => {
    const { queue, calls } = heldQueue()
    const pipeline = pipelineOn(queue)
    const ids = [randomUUID(), randomUUID()]
    const first = pipeline.ingest(events(ids), context)
    const firstFailed = assert.rejects(first, (err: unknown) => err instanceof SiemError && err.code === 'SIEM_ERR_QUEUE_TIMEOUT')
    let resent: IngestResult | undefined
    const second = pipeline.ingest(events(ids), context).then((result) => (resent = result))
    await settle()
    assert.equal(resent, undefined, 'the re-send answered before the first request finished')
    assert.equal(calls.length, 1)

    calls[0]?.reject(queueTimeout())
    await firstFailed
    await settle()
    assert.equal(calls.length, 2)
    assert.equal(eventCount(calls[1]), 2)
    calls[1]?.resolve()
    const result = await second
    assert.equal(result.accepted, 2)
    assert.equal(result.duplicates, 0)
  })

  test('skips the events when the first enqueue succeeds', async () => {
    const { queue, calls } = heldQueue()
    const pipeline = pipelineOn(queue)
    const ids = [randomUUID(), randomUUID()]
    const first = pipeline.ingest(events(ids), context)
    const second = pipeline.ingest(events(ids), context)
    await settle()
    assert.equal(calls.length, 1)

    calls[0]?.resolve()
    assert.equal((await first).accepted, 2)
    await settle()
    assert.equal(eventCount(calls[1]), 0)
    calls[1]?.resolve()
    const resent = await second
    assert.equal(resent.accepted, 0)
    assert.equal(resent.duplicates, 2)
    assert.deepEqual(resent.eventIds, ids)
  })

  test('waiting re-send releases its claims', async () => {
    const { queue, calls } = heldQueue()
    const pipeline = pipelineOn(queue)
    const [held, other] = [randomUUID(), randomUUID()]
    // The first request claims `held`; the second claims `other`, meets `held` and waits.
    const first = pipeline.ingest(events([held]), context)
    const firstFailed = assert.rejects(first)
    const second = pipeline.ingest(events([other, held]), context)
    await settle()
    // A third request for `other` must not wait for the second, which released it.
    const third = pipeline.ingest(events([other]), context)
    await settle()
    assert.equal(calls.length, 2)
    assert.equal(eventCount(calls[1]), 1)

    calls[0]?.reject(queueTimeout())
    await firstFailed
    calls[1]?.resolve()
    assert.equal((await third).accepted, 1)
    await settle()
    // The second request now finds `other` stored by the third and `held` free.
    assert.equal(eventCount(calls[2]), 1)
    calls[2]?.resolve()
    const resent = await second
    assert.equal(resent.accepted, 1)
    assert.equal(resent.duplicates, 1)
  })

  test('same id twice in one request is one event', async () => {
    const { queue, calls } = heldQueue()
    const pipeline = pipelineOn(queue)
    const id = randomUUID()
    const pending = pipeline.ingest(events([id, id]), context)
    await settle()
    assert.equal(eventCount(calls[0]), 1)
    calls[0]?.resolve()
    const result = await pending
    assert.equal(result.accepted, 1)
    assert.equal(result.duplicates, 1)
  })

  test('re-send wait times out', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const { queue, calls } = heldQueue()
    const pipeline = pipelineOn(queue, 1000)
    const ids = [randomUUID()]
    // The first request's enqueue never settles, as for a commit the writer keeps retrying.
    void pipeline.ingest(events(ids), context)
    const second = pipeline.ingest(events(ids), context)
    const timedOut = assert.rejects(second, (err: unknown) => err instanceof SiemError && err.code === 'SIEM_ERR_QUEUE_TIMEOUT')
    await settle()
    t.mock.timers.tick(999)
    await settle()
    assert.equal(calls.length, 1)
    t.mock.timers.tick(1)
    await timedOut
    assert.equal(calls.length, 1, 'the timed-out re-send enqueued nothing')
  })
})
