import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { QueueConfig, WriterConfig } from '../../src/config/types.js'
import { WriterMetrics } from '../../src/metrics/pipeline-metrics.js'
import { MemoryQueue } from '../../src/queue/memory-queue.js'
import type { QueueItem } from '../../src/schema/event.js'
import { BatchWriter } from '../../src/storage/batch-writer.js'
import type { RowSink, TargetTable } from '../../src/storage/row-sink.js'

const QUEUE: QueueConfig = {
  type: 'memory',
  max_events: 1000,
  max_bytes: 1024 ** 2,
  overflow_policy: 'reject',
  block_timeout: 1000,
  retry_after: 1000,
  spool: { dir: '', segment_size: 0, max_bytes: 0, fsync: false, group_commit_delay: 0 },
}

const WRITER: WriterConfig = { batch_size: 2, max_batch_size: 2, flush_interval: 10, idle_flush: 0, idle_flush_min_rows: 1, concurrency: 1, retry_initial_delay: 1, retry_max_delay: 5 }

/** A memory queue whose commit fails the first `failures` times, as a spool that cannot write would. */
class FlakyCommitQueue extends MemoryQueue {
  failures: number
  commits = 0

  constructor(failures: number) {
    super({ config: QUEUE, logger: pino({ level: 'silent' }) })
    this.failures = failures
  }

  override async commit(batchId: string): Promise<void> {
    if (this.failures > 0) {
      this.failures--
      throw new Error('commit record write failed: EIO')
    }
    this.commits++
    await super.commit(batchId)
  }
}

class CountingSink implements RowSink {
  readonly tokens: string[] = []

  async insert(_table: TargetTable, _rows: readonly object[], token: string): Promise<void> {
    this.tokens.push(token)
  }
}

function items(count: number): QueueItem[] {
  return Array.from({ length: count }, (_, index) => ({
    table: 'quarantine',
    row: {
      quarantine_id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      quarantined_at: '2026-04-15 10:00:00.000000',
      tenant_id: 'acme',
      raw_event: `raw ${index}`,
      source_ip: '127.0.0.1',
      source_format: 'json',
      validation_errors: [],
      error_code: 'missing_field',
    },
  }))
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

test('failing commit is retried, writer keeps going', async () => {
  const queue = new FlakyCommitQueue(3)
  const sink = new CountingSink()
  const writer = new BatchWriter({ config: WRITER, queue, sink, metrics: new WriterMetrics(new Registry()), logger: pino({ level: 'silent' }) })
  writer.start()

  await queue.enqueue(items(2), { ack: 'memory' })
  await until(() => queue.commits === 1, 'first batch committed')
  assert.equal(queue.failures, 0)
  assert.equal(sink.tokens.length, 1, 'a failed commit does not store the batch again')

  await queue.enqueue(items(2), { ack: 'memory' })
  await until(() => queue.commits === 2, 'second batch committed by the same worker')
  assert.equal(queue.stats().depthEvents, 0)
  assert.equal(await writer.stop(1000), true)
})

test('backlog goes out in larger batches', async () => {
  const queue = new FlakyCommitQueue(0)
  const sink = new CountingSink()
  const config = { ...WRITER, batch_size: 2, max_batch_size: 5 }
  await queue.enqueue(items(12), { ack: 'memory' })
  const writer = new BatchWriter({ config, queue, sink, metrics: new WriterMetrics(new Registry()), logger: pino({ level: 'silent' }) })
  writer.start()
  await until(() => queue.stats().depthEvents === 0, 'backlog stored')
  // 12 waiting rows with a trigger of 2 and a backlog limit of 5: 5, 5, then the last 2.
  assert.equal(sink.tokens.length, 3)
  assert.equal(await writer.stop(1000), true)
})
