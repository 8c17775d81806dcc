import { afterEach, beforeEach, describe, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { ClickHouseError } from '@clickhouse/client'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import type { QueueConfig, WriterConfig } from '../../src/config/types.js'
import { WriterMetrics } from '../../src/metrics/pipeline-metrics.js'
import { MemoryQueue } from '../../src/queue/memory-queue.js'
import type { EventRow, QuarantineRow, QueueItem } from '../../src/schema/event.js'
import { BatchWriter } from '../../src/storage/batch-writer.js'
import { ROW_DATA_ERROR_CODES, backoffDelay, classifyInsertError } from '../../src/storage/retry-policy.js'
import type { RowSink, TargetTable } from '../../src/storage/row-sink.js'

const QUEUE: QueueConfig = {
  type: 'memory',
  max_events: 100_000,
  max_bytes: 1024 ** 3,
  overflow_policy: 'reject',
  block_timeout: 1000,
  retry_after: 1000,
  spool: { dir: '', segment_size: 0, max_bytes: 0, fsync: false, group_commit_delay: 0 },
}

const WRITER: WriterConfig = {
  batch_size: 5,
  max_batch_size: 5,
  flush_interval: 60_000,
  idle_flush: 0,
  idle_flush_min_rows: 1,
  concurrency: 1,
  retry_initial_delay: 100,
  retry_max_delay: 30_000,
}

const silent = pino({ level: 'silent' })

function eventRow(tag: string, severity = 5): EventRow {
  const suffix = tag.padStart(12, '0').slice(-12)
  return {
    event_id: `0190a6e4-8d1c-7b5e-9f00-${suffix}`,
    tenant_id: 'acme',
    timestamp: '2026-04-15 10:00:00.123456',
    received_at: '2026-04-15 10:00:01.000001',
    source_product: 'sshd',
    source_host: '',
    source_instance_id: '',
    source_version: '',
    actor_type: 'unknown',
    actor_id: '',
    actor_name: '',
    actor_email: '',
    actor_ip: '',
    action: 'auth.login',
    target: tag,
    outcome: 'unknown',
    severity,
    schema_version: '1.0.0',
    raw: `raw ${tag}`,
    metadata: '{}',
  }
}

function quarantineRow(tag: string): QuarantineRow {
  return {
    quarantine_id: '00000000-0000-4000-8000-000000000000',
    quarantined_at: '2026-04-15 10:00:00.000000',
    tenant_id: 'acme',
    raw_event: tag,
    source_ip: '127.0.0.1',
    source_format: 'json',
    validation_errors: ['timestamp: timestamp is required (missing_field)'],
    error_code: 'missing_field',
  }
}

function eventItems(count: number, prefix = 'e'): QueueItem[] {
  return Array.from({ length: count }, (_, index) => ({ table: 'events', row: eventRow(`${prefix}${index}`) }))
}

interface InsertCall {
  table: TargetTable
  rows: readonly object[]
  token: string
  at: number
  ok: boolean
}

/** A RowSink that records every insert and fails when `fail` throws for it. */
class FakeSink implements RowSink {
  readonly calls: InsertCall[] = []
  fail: (table: TargetTable, rows: readonly object[], attempt: number) => void = () => undefined

  async insert(table: TargetTable, rows: readonly object[], token: string): Promise<void> {
    const call: InsertCall = { table, rows: [...rows], token, at: Date.now(), ok: false }
    this.calls.push(call)
    this.fail(table, rows, this.calls.length)
    call.ok = true
  }

  stored(table: TargetTable): object[] {
    return this.calls.filter((call) => call.ok && call.table === table).flatMap((call) => [...call.rows])
  }
}

interface Harness {
  queue: MemoryQueue
  sink: FakeSink
  writer: BatchWriter
  registry: Registry
}

function startHarness(config: Partial<WriterConfig> = {}): Harness {
  const queue = new MemoryQueue({ config: QUEUE, logger: silent })
  const sink = new FakeSink()
  const registry = new Registry()
  const writer = new BatchWriter({
    // These tests count batches of batch_size, so a backlog does not enlarge them unless a test asks.
    config: { ...WRITER, max_batch_size: config.batch_size ?? WRITER.batch_size, ...config },
    queue,
    sink,
    metrics: new WriterMetrics(registry),
    logger: silent,
  })
  writer.start()
  return { queue, sink, writer, registry }
}

/** Runs pending promise callbacks (setImmediate is not faked) until `done` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (done()) return
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.fail(`never happened: ${what}`)
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}

async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name)
  assert.ok(metric !== undefined, `metric ${name} exists`)
  const data = await metric.get()
  return data.values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0)
}

function clickHouseError(code: number, message = `Code: ${code}. DB::Exception: test failure`): ClickHouseError {
  return new ClickHouseError({ message, code: String(code), type: 'TEST' })
}

async function stopHarness(harness: Harness): Promise<void> {
  harness.queue.drain()
  await harness.writer.stop(0)
  await harness.queue.close()
}

describe('BatchWriter batching', () => {
  let harness: Harness | undefined
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }))
  afterEach(async () => {
    if (harness !== undefined) await stopHarness(harness)
    harness = undefined
    mock.timers.reset()
  })

  test('flushes on size without waiting for the interval', async () => {
    harness = startHarness({ batch_size: 5 })
    await harness.queue.enqueue(eventItems(12), { ack: 'memory' })
    const sink = harness.sink
    await until(() => sink.calls.length === 2, 'two full batches')
    assert.deepEqual(sink.calls.map((call) => call.rows.length), [5, 5])
    await settle()
    assert.equal(sink.calls.length, 2, 'the last 2 rows wait for the interval')
    mock.timers.tick(60_000)
    await until(() => sink.calls.length === 3, 'the partial batch')
    assert.equal(sink.calls[2]?.rows.length, 2)
    await until(() => harness?.queue.stats().depthEvents === 0, 'every batch committed')
  })

  test('flushes a partial batch on the interval', async () => {
    harness = startHarness({ batch_size: 100, flush_interval: 5000 })
    await harness.queue.enqueue(eventItems(3), { ack: 'memory' })
    mock.timers.tick(4999)
    await settle()
    assert.equal(harness.sink.calls.length, 0)
    mock.timers.tick(1)
    const sink = harness.sink
    await until(() => sink.calls.length === 1, 'the interval flush')
    assert.equal(sink.calls[0]?.rows.length, 3)
    assert.equal(sink.calls[0]?.at, 1_005_000)
  })

  test('collects requests that arrive within the interval into one batch', async () => {
    harness = startHarness({ batch_size: 100, flush_interval: 1000 })
    for (let request = 0; request < 4; request++) {
      await harness.queue.enqueue(eventItems(2, `r${request}-`), { ack: 'memory' })
      mock.timers.tick(200)
    }
    await settle()
    assert.equal(harness.sink.calls.length, 0)
    mock.timers.tick(200)
    const sink = harness.sink
    await until(() => sink.calls.length === 1, 'one batch')
    assert.equal(sink.calls[0]?.rows.length, 8)
  })

  test('idle input flushes a partial batch', async () => {
    harness = startHarness({ batch_size: 100, flush_interval: 5000, idle_flush: 250, idle_flush_min_rows: 4 })
    await harness.queue.enqueue(eventItems(3, 'a'), { ack: 'memory' })
    mock.timers.tick(900)
    await harness.queue.enqueue(eventItems(3, 'b'), { ack: 'memory' })
    // 249 ms after the last enqueue the input is not idle yet, though the first came 1149 ms ago.
    mock.timers.tick(249)
    await settle()
    assert.equal(harness.sink.calls.length, 0)
    mock.timers.tick(1)
    const sink = harness.sink
    await until(() => sink.calls.length === 1, 'the idle flush')
    assert.equal(sink.calls[0]?.rows.length, 6)
    assert.equal(sink.calls[0]?.at, 1_001_150)
  })

  test('idle flush waits for a second-old row', async () => {
    harness = startHarness({ batch_size: 100, flush_interval: 5000, idle_flush: 250, idle_flush_min_rows: 4 })
    await harness.queue.enqueue(eventItems(6), { ack: 'memory' })
    // Idle after 250 ms, but the oldest row must also be 1000 ms old.
    mock.timers.tick(999)
    await settle()
    assert.equal(harness.sink.calls.length, 0)
    mock.timers.tick(1)
    const sink = harness.sink
    await until(() => sink.calls.length === 1, 'the idle flush')
    assert.equal(sink.calls[0]?.at, 1_001_000)
  })

  test('idle flush waits for its minimum rows', async () => {
    harness = startHarness({ batch_size: 100, flush_interval: 5000, idle_flush: 250, idle_flush_min_rows: 4 })
    await harness.queue.enqueue(eventItems(3), { ack: 'memory' })
    mock.timers.tick(4999)
    await settle()
    assert.equal(harness.sink.calls.length, 0, 'three rows are below the minimum, so they wait for the interval')
    mock.timers.tick(1)
    const sink = harness.sink
    await until(() => sink.calls.length === 1, 'the interval flush')
    assert.equal(sink.calls[0]?.at, 1_005_000)
  })

  test('idle flush of 0 is off', async () => {
    harness = startHarness({ batch_size: 100, flush_interval: 5000, idle_flush: 0, idle_flush_min_rows: 1 })
    await harness.queue.enqueue(eventItems(10), { ack: 'memory' })
    mock.timers.tick(4999)
    await settle()
    assert.equal(harness.sink.calls.length, 0)
    mock.timers.tick(1)
    const sink = harness.sink
    await until(() => sink.calls.length === 1, 'the interval flush')
    assert.equal(sink.calls[0]?.rows.length, 10)
  })

  test('steady input does not trigger idle flush', async () => {
    harness = startHarness({ batch_size: 100, flush_interval: 5000, idle_flush: 250, idle_flush_min_rows: 1 })
    for (let request = 0; request < 8; request++) {
      await harness.queue.enqueue(eventItems(2, `r${request}-`), { ack: 'memory' })
      mock.timers.tick(200)
    }
    await settle()
    assert.equal(harness.sink.calls.length, 0)
    // The last request came at 1400 ms, so the input is idle at 1650 ms.
    mock.timers.tick(49)
    await settle()
    assert.equal(harness.sink.calls.length, 0)
    mock.timers.tick(1)
    const sink = harness.sink
    await until(() => sink.calls.length === 1, 'the idle flush after the last request')
    assert.equal(sink.calls[0]?.rows.length, 16)
    assert.equal(sink.calls[0]?.at, 1_001_650)
  })

  test('writes events and quarantine rows to their tables with batch tokens', async () => {
    harness = startHarness({ batch_size: 4 })
    const items: QueueItem[] = [
      { table: 'events', row: eventRow('a') },
      { table: 'quarantine', row: quarantineRow('q1') },
      { table: 'events', row: eventRow('b') },
      { table: 'quarantine', row: quarantineRow('q2') },
    ]
    await harness.queue.enqueue(items, { ack: 'memory' })
    const sink = harness.sink
    await until(() => sink.calls.length === 2, 'both inserts')
    const [events, quarantine] = sink.calls
    assert.equal(events?.table, 'events')
    assert.deepEqual(events?.rows, [eventRow('a'), eventRow('b')])
    assert.equal(quarantine?.table, 'events_quarantine')
    assert.deepEqual(quarantine?.rows, [quarantineRow('q1'), quarantineRow('q2')])
    const batchId = events?.token.replace(/:events$/, '')
    assert.match(events?.token ?? '', /^.+:events$/)
    assert.equal(quarantine?.token, `${batchId}:quarantine`)
    await until(() => harness?.queue.stats().depthEvents === 0, 'batch committed')
    assert.equal(await counterValue(harness.registry, 'siem_writer_batches_total'), 1)
    assert.equal(await counterValue(harness.registry, 'siem_writer_rows_written_total', { table: 'events' }), 2)
    assert.equal(await counterValue(harness.registry, 'siem_writer_rows_written_total', { table: 'events_quarantine' }), 2)
  })

  test('gives each batch its own token', async () => {
    harness = startHarness({ batch_size: 2 })
    await harness.queue.enqueue(eventItems(6), { ack: 'memory' })
    const sink = harness.sink
    await until(() => sink.calls.length === 3, 'three batches')
    assert.equal(new Set(sink.calls.map((call) => call.token)).size, 3)
  })
})

describe('BatchWriter retries', () => {
  let harness: Harness | undefined
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
    // Full jitter draws a random share of the ceiling; 1 makes the delays exact.
    mock.method(Math, 'random', () => 1)
  })
  afterEach(async () => {
    if (harness !== undefined) await stopHarness(harness)
    harness = undefined
    mock.timers.reset()
    mock.restoreAll()
  })

  test('retries a retriable error with exponential backoff and the same token', async () => {
    harness = startHarness({ batch_size: 3, retry_initial_delay: 100 })
    const sink = harness.sink
    sink.fail = (_table, _rows, attempt) => {
      if (attempt <= 3) throw clickHouseError(241)
    }
    await harness.queue.enqueue(eventItems(3), { ack: 'memory' })
    await until(() => sink.calls.length === 1, 'first attempt')
    assert.equal(harness.writer.failing, true)
    for (const delay of [100, 200, 400]) {
      const before = sink.calls.length
      mock.timers.tick(delay - 1)
      await settle()
      assert.equal(sink.calls.length, before, `no retry before ${delay} ms`)
      mock.timers.tick(1)
      await until(() => sink.calls.length === before + 1, `retry after ${delay} ms`)
    }
    assert.deepEqual(
      sink.calls.map((call) => call.at - 1_000_000),
      [0, 100, 300, 700],
    )
    assert.equal(new Set(sink.calls.map((call) => call.token)).size, 1, 'every attempt uses the same token')
    assert.equal(sink.calls[3]?.ok, true)
    await until(() => harness?.queue.stats().depthEvents === 0, 'batch committed')
    assert.equal(harness.writer.failing, false)
    assert.equal(await counterValue(harness.registry, 'siem_writer_retries_total', { reason: 'memory_limit_exceeded' }), 3)
  })

  test('caps the backoff at retry_max_delay', async () => {
    harness = startHarness({ batch_size: 1, retry_initial_delay: 100, retry_max_delay: 1000 })
    const sink = harness.sink
    sink.fail = (_table, _rows, attempt) => {
      if (attempt <= 7) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' })
    }
    await harness.queue.enqueue(eventItems(1), { ack: 'memory' })
    await until(() => sink.calls.length === 1, 'first attempt')
    for (const delay of [100, 200, 400, 800, 1000, 1000, 1000]) {
      const before = sink.calls.length
      mock.timers.tick(delay - 1)
      await settle()
      assert.equal(sink.calls.length, before, `no retry before ${delay} ms`)
      mock.timers.tick(1)
      await until(() => sink.calls.length === before + 1, `retry after ${delay} ms`)
    }
    const gaps = sink.calls.slice(1).map((call, index) => call.at - (sink.calls[index] as InsertCall).at)
    assert.deepEqual(gaps, [100, 200, 400, 800, 1000, 1000, 1000])
    assert.equal(await counterValue(harness.registry, 'siem_writer_retries_total', { reason: 'econnrefused' }), 7)
  })

  test('keeps a batch that keeps failing and stores it once', async () => {
    harness = startHarness({ batch_size: 4, retry_initial_delay: 10, retry_max_delay: 500 })
    const sink = harness.sink
    let outage = true
    sink.fail = () => {
      if (outage) throw clickHouseError(210, 'Code: 210. DB::NetException: Connection refused')
    }
    const items = eventItems(4)
    await harness.queue.enqueue(items, { ack: 'memory' })
    for (let i = 0; i < 60; i++) {
      mock.timers.tick(500)
      await settle()
    }
    assert.ok(sink.calls.length >= 50, `retried ${sink.calls.length} times`)
    assert.equal(harness.queue.stats().depthEvents, 4, 'the batch is still in the queue')
    assert.equal(harness.writer.failing, true)
    outage = false
    mock.timers.tick(500)
    await until(() => harness?.queue.stats().depthEvents === 0, 'batch committed after the outage')
    assert.deepEqual(sink.stored('events'), items.map((entry) => entry.row))
    assert.equal(new Set(sink.calls.map((call) => call.token)).size, 1)
  })

  test('stop leaves a failing batch in the queue', async () => {
    harness = startHarness({ batch_size: 2 })
    const sink = harness.sink
    sink.fail = () => {
      throw clickHouseError(159)
    }
    await harness.queue.enqueue(eventItems(2), { ack: 'memory' })
    await until(() => sink.calls.length === 1, 'first attempt')
    harness.queue.drain()
    assert.equal(await harness.writer.stop(0), false)
    assert.equal(harness.queue.stats().depthEvents, 2)
    assert.equal(sink.stored('events').length, 0)
  })
})

describe('BatchWriter row-data errors', () => {
  let harness: Harness | undefined
  afterEach(async () => {
    if (harness !== undefined) await stopHarness(harness)
    harness = undefined
  })

  const BAD_SEVERITY = 200

  function failOnBadRows(make: () => Error): FakeSink['fail'] {
    return (_table, rows) => {
      if (rows.some((row) => (row as EventRow).severity === BAD_SEVERITY)) throw make()
    }
  }

  test('splits the batch and quarantines only the bad rows', async () => {
    harness = startHarness({ batch_size: 8 })
    const rows = Array.from({ length: 8 }, (_, index) => eventRow(`r${index}`, index === 2 || index === 7 ? BAD_SEVERITY : 5))
    const sink = harness.sink
    sink.fail = failOnBadRows(() => clickHouseError(27, 'Code: 27. DB::Exception: Cannot parse input: expected severity'))
    await harness.queue.enqueue(rows.map((row) => ({ table: 'events', row })), { ack: 'memory' })
    await until(() => harness?.queue.stats().depthEvents === 0, 'batch committed')

    const good = rows.filter((row) => row.severity !== BAD_SEVERITY)
    const stored = sink.stored('events') as EventRow[]
    assert.deepEqual([...stored].sort((a, b) => a.target.localeCompare(b.target)), good)
    const quarantined = sink.stored('events_quarantine') as QuarantineRow[]
    assert.equal(quarantined.length, 2)
    for (const [index, row] of quarantined.entries()) {
      const original = rows[index === 0 ? 2 : 7] as EventRow
      assert.equal(row.error_code, 'storage_rejected')
      assert.deepEqual(JSON.parse(row.raw_event), original)
      assert.equal(row.tenant_id, 'acme')
      assert.equal(row.quarantined_at, original.received_at)
      assert.equal(row.source_format, 'json')
      assert.match(row.validation_errors[0] ?? '', /ClickHouse refused the row: .*Cannot parse input/)
      assert.match(row.quarantine_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/)
    }
    const tokens = sink.calls.map((call) => call.token)
    assert.equal(new Set(tokens).size, tokens.length, 'every split insert has its own token')
    assert.ok(tokens.some((token) => token.endsWith(':rejected')))
    assert.equal(await counterValue(harness.registry, 'siem_writer_rows_failed_total', { table: 'events' }), 2)
    assert.equal(await counterValue(harness.registry, 'siem_writer_rows_written_total', { table: 'events' }), 6)
    assert.equal(await counterValue(harness.registry, 'siem_writer_retries_total'), 0)
  })

  test('reads the error code of any copy of ClickHouseError', async () => {
    // chdb's connection throws the ClickHouseError class of its own
    // @clickhouse/client-common, which `instanceof` against the client's class misses.
    class OtherCopy extends Error {
      readonly code: string
      constructor(message: string, code: string) {
        super(message)
        this.code = code
      }
    }
    Object.defineProperty(OtherCopy, 'name', { value: 'ClickHouseError' })
    const err = new OtherCopy('Code: 376. DB::Exception: Cannot parse UUID', '376')
    assert.equal(classifyInsertError(err).kind, 'row_data')

    harness = startHarness({ batch_size: 2 })
    const sink = harness.sink
    sink.fail = failOnBadRows(() => new OtherCopy('Code: 376. DB::Exception: Cannot parse UUID', '376'))
    await harness.queue.enqueue([{ table: 'events', row: eventRow('a') }, { table: 'events', row: eventRow('b', BAD_SEVERITY) }], { ack: 'memory' })
    await until(() => harness?.queue.stats().depthEvents === 0, 'batch committed')
    assert.equal(sink.stored('events').length, 1)
    assert.equal(sink.stored('events_quarantine').length, 1)
  })
})

describe('retry policy', () => {
  test('classifies row-data codes and everything else as retriable', () => {
    for (const code of ROW_DATA_ERROR_CODES) assert.equal(classifyInsertError(clickHouseError(code)).kind, 'row_data', String(code))
    for (const code of [159, 164, 202, 209, 210, 241, 252, 999, 62]) {
      assert.equal(classifyInsertError(clickHouseError(code)).kind, 'retriable', String(code))
    }
    assert.deepEqual(classifyInsertError(clickHouseError(252)), {
      kind: 'retriable',
      reason: 'too_many_parts',
      message: 'Code: 252. DB::Exception: test failure',
    })
    assert.equal(classifyInsertError(new Error('socket hang up')).kind, 'retriable')
    assert.equal(classifyInsertError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })).kind, 'retriable')
    assert.equal(classifyInsertError('a string').kind, 'retriable')
  })

  test('a bad escape sequence is a row-data error', () => {
    assert.equal(classifyInsertError(clickHouseError(25)).kind, 'row_data')
  })

  test('backoff grows exponentially up to the cap with full jitter', () => {
    const options = { initialMs: 100, maxMs: 5000 }
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 40].map((attempt) => backoffDelay(attempt, options, () => 1)),
      [100, 200, 400, 800, 1600, 3200, 5000, 5000],
    )
    assert.equal(backoffDelay(3, options, () => 0.5), 400)
    assert.equal(backoffDelay(3, options, () => 0), 1, 'never zero')
  })
})
