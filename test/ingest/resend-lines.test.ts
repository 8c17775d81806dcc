import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { Registry } from 'prom-client'
import { loadConfig } from '../../src/config/load.js'
import { fromWire, toWire } from '../../src/ingest/http/prepare-wire.js'
import { IngestPipeline } from '../../src/ingest/pipeline.js'
import type { PreparedEvent } from '../../src/ingest/prepare.js'
import type { IngestContext } from '../../src/ingest/types.js'
import { IngestMetrics } from '../../src/metrics/pipeline-metrics.js'
import type { EventQueue } from '../../src/queue/types.js'
import type { EventRow, QueueItem } from '../../src/schema/event.js'
import { SerializedEventRow } from '../../src/schema/serialized-row.js'
import { EventValidator } from '../../src/schema/validate.js'
import { jsonEachRowBody } from '../../src/storage/json-lines.js'
import { makeEvent } from '../queue/support/spool-helpers.js'

const context: IngestContext = { tenantId: 'acme', sourceIp: '127.0.0.1', sourceFormat: 'json', requestId: 'r', ack: 'durable', listener: 'http' }

/** Returns a queue that accepts every enqueue at once and keeps the items of each. */
function recordingQueue(): { queue: EventQueue; enqueued: QueueItem[][] } {
  const enqueued: QueueItem[][] = []
  const queue = {
    enqueue(items: QueueItem[]): Promise<void> {
      enqueued.push(items)
      return Promise.resolve()
    },
  } as unknown as EventQueue
  return { queue, enqueued }
}

function pipelineOn(queue: EventQueue): IngestPipeline {
  const config = loadConfig({ env: {} })
  return new IngestPipeline({ config: config.ingest, validator: new EventValidator(config.validation), queue, metrics: new IngestMetrics(new Registry()) })
}

function row(id: string): EventRow {
  return { ...makeEvent(id), actor_name: 'Zoë 🔐', raw: `Failed password "${id}" ${'x'.repeat(2000)}` }
}

/** Builds the prepared events of one body as a preparation worker hands them over: lines of one buffer. */
function workerBody(ids: readonly string[]): PreparedEvent[] {
  const events: PreparedEvent[] = ids.map((id) => ({ kind: 'event', row: row(id), clientId: true }))
  const received = fromWire(toWire({ kind: 'prepared', events }).outcome)
  assert.ok(received.kind === 'prepared')
  return received.events
}

function serializedRows(items: readonly QueueItem[]): SerializedEventRow[] {
  return items.map((item) => {
    assert.ok(item.table === 'events')
    assert.ok(item.row instanceof SerializedEventRow)
    return item.row
  })
}

describe('lines of rows left after re-sends', () => {
  test('no longer hold the dropped rows', async () => {
    const { queue, enqueued } = recordingQueue()
    const pipeline = pipelineOn(queue)
    const seen = Array.from({ length: 50 }, () => randomUUID())
    await pipeline.ingestPrepared(workerBody(seen), context)

    const fresh = [randomUUID(), randomUUID()]
    const resend = [...seen.slice(0, 20), fresh[0] as string, ...seen.slice(20), fresh[1] as string]
    const result = await pipeline.ingestPrepared(workerBody(resend), context)
    assert.equal(result.accepted, 2)
    assert.equal(result.duplicates, 50)

    const enqueuedRows = serializedRows(enqueued[1] ?? [])
    assert.deepEqual(enqueuedRows.map((r) => r.event_id), fresh)
    const rowBytes = enqueuedRows.reduce((sum, r) => sum + r.line.length, 0)
    for (const r of enqueuedRows) {
      assert.ok(r.line.buffer.byteLength <= 2 * rowBytes, `a kept line views ${r.line.buffer.byteLength} bytes for ${rowBytes} bytes of rows`)
    }
    assert.equal(jsonEachRowBody(enqueuedRows).toString('utf8'), fresh.map((id) => `${JSON.stringify(row(id))}\n`).join(''))
  })

  test('of a body without re-sends stay in its buffer', async () => {
    const { queue, enqueued } = recordingQueue()
    const pipeline = pipelineOn(queue)
    const events = workerBody([randomUUID(), randomUUID(), randomUUID()])
    await pipeline.ingestPrepared(events, context)

    const enqueuedRows = serializedRows(enqueued[0] ?? [])
    const lines = events.map((event) => (event.kind === 'event' && event.row instanceof SerializedEventRow ? event.row.line : undefined))
    assert.deepEqual(
      enqueuedRows.map((r) => r.line),
      lines,
    )
    for (const r of enqueuedRows) assert.equal(r.line.buffer, lines[0]?.buffer)
  })
})
