import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { loadConfig } from '../../src/config/load.js'
import { isSiemError } from '../../src/errors.js'
import { InlineBodyPreparer } from '../../src/ingest/http/body-preparer.js'
import type { BodyInput, BodyLimits, BodyOutcome } from '../../src/ingest/http/prepare-body.js'
import { WorkerBodyPreparer } from '../../src/ingest/http/worker-preparer.js'
import type { PrepareContext } from '../../src/ingest/prepare.js'
import { createLogger } from '../../src/logger.js'
import { rowJson } from '../../src/schema/row-json.js'
import { EventValidator } from '../../src/schema/validate.js'

const validation = loadConfig({ env: {} }).validation
const limits: BodyLimits = { maxPayloadSize: 64 * 1024, maxBatchSize: 5 }
const context: PrepareContext = { tenantId: 'acme', sourceIp: '127.0.0.1', sourceFormat: 'json', maxQuarantineRaw: 1024 }
const logger = createLogger({ level: 'silent' })

const now = (): string => new Date().toISOString()
const valid = (id: string): Record<string, unknown> => ({
  event_id: id,
  timestamp: now(),
  source: { product: 'openssh', host: 'bastion-1' },
  action: 'auth.failure',
  actor: { type: 'user', name: 'root', ip_address: '203.0.113.7' },
  severity: 6,
  metadata: { port: 22 },
})

function input(body: string | Buffer, options: { encoding?: string; format?: 'json' | 'ndjson' } = {}): BodyInput {
  return { body: typeof body === 'string' ? Buffer.from(body) : body, contentEncoding: options.encoding, format: options.format ?? 'json', context }
}

/** Returns an event whose metadata is `depth` levels of objects deep, counting the metadata object itself. */
function deepMetadata(id: string, depth: number): string {
  const event = JSON.stringify(valid(id)).slice(0, -1).replace(/,"metadata":\{"port":22\}/, '')
  return `${event},"metadata":${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}}`
}

/** Bodies that cover every kind of outcome, with a name for failure messages. */
const BODIES: Array<[string, BodyInput]> = [
  ['valid events', input(JSON.stringify({ events: [valid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b'), valid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7c')] }))],
  ['an event without id or raw', input(JSON.stringify([{ timestamp: now(), source: { product: 'sshd' }, action: 'auth.login' }]))],
  ['an invalid field and an unknown one', input(JSON.stringify([{ ...valid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7d'), severity: 99, colour: 'red' }]))],
  ['NDJSON with a line that is not JSON', input(`${JSON.stringify(valid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7e'))}\n{"oops\n`, { format: 'ndjson' })],
  ['gzip', input(gzipSync(JSON.stringify([valid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7f')])), { encoding: 'gzip' })],
  ['gzip that does not inflate', input(Buffer.from('not gzip at all'), { encoding: 'gzip' })],
  ['an unknown encoding', input('[]', { encoding: 'br' })],
  ['a body larger than the limit once inflated', input(gzipSync(' '.repeat(100_000)), { encoding: 'gzip' })],
  ['more events than the batch limit', input(JSON.stringify(Array.from({ length: 6 }, () => valid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a70'))))],
  ['no events', input('[]')],
  ['malformed JSON', input('{"events": [')],
  ['invalid UTF-8', input(Buffer.from([0x5b, 0xff, 0x5d]))],
  ['a lone surrogate', input(JSON.stringify([{ ...valid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a71'), target: '\ud800' }]))],
  // A worker thread's stack is about four times the main thread's, so nesting
  // that overflows JSON.stringify on one may not on the other.
  ['metadata 5000 levels deep', input(`[${deepMetadata('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a72', 5000)}]`)],
  ['an array 5000 levels deep', input(`[${'['.repeat(5000)}${']'.repeat(5000)}]`)],
  ['an unknown field 5000 levels deep', input(`[{"colour":${'['.repeat(5000)}${']'.repeat(5000)}}]`)],
]

/** Returns the outcome with generated ids and times replaced by placeholders. */
function comparable(outcome: BodyOutcome): unknown {
  if (outcome.kind !== 'prepared') return outcome
  return outcome.events.map((event) => {
    if (event.kind === 'quarantine') return { ...event, row: { ...event.row, quarantine_id: '(id)', quarantined_at: '(time)' } }
    const row = JSON.parse(rowJson(event.row)) as Record<string, unknown>
    const generated = !event.clientId
    return { ...event, row: { ...row, received_at: '(time)', event_id: generated ? '(id)' : row['event_id'] } }
  })
}

describe('worker body preparer', () => {
  let workers: WorkerBodyPreparer
  const inline = new InlineBodyPreparer(new EventValidator(validation), limits)

  before(async () => {
    workers = new WorkerBodyPreparer({ workers: 2, validation, limits, logger })
    await workers.start()
  })

  after(async () => {
    await workers.close()
  })

  test('worker matches inline for every body', async () => {
    for (const [name, body] of BODIES) {
      const [fromWorker, fromInline] = await Promise.all([workers.prepare(body), inline.prepare(body)])
      assert.deepEqual(comparable(fromWorker), comparable(fromInline), name)
    }
  })

  test('worker rows match validated columns', async () => {
    const body = BODIES[0]?.[1]
    assert.ok(body)
    const outcome = await workers.prepare(body)
    assert.equal(outcome.kind, 'prepared')
    const event = outcome.kind === 'prepared' ? outcome.events[0] : undefined
    assert.equal(event?.kind, 'event')
    if (event?.kind !== 'event') return
    assert.equal(event.row.event_id, '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b')
    assert.equal(event.row.actor_ip, '203.0.113.7')
    assert.equal(event.row.metadata, '{"port":22}')
    assert.equal(JSON.stringify(event.row), rowJson(event.row))
  })

  test('metadata depth limit is 1000 levels', async () => {
    const body = input(`[${deepMetadata('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a73', 1000)},${deepMetadata('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a74', 1001)}]`)
    for (const outcome of await Promise.all([workers.prepare(body), inline.prepare(body)])) {
      assert.equal(outcome.kind, 'prepared')
      const events = outcome.kind === 'prepared' ? outcome.events : []
      assert.equal(events[0]?.kind, 'event')
      assert.match(events[0]?.kind === 'event' ? events[0].row.raw : '', /^\{"event_id"/)
      assert.equal(events[1]?.kind, 'quarantine')
      assert.equal(events[1]?.kind === 'quarantine' ? events[1].errorCode : undefined, 'too_deep')
    }
  })

  test('concurrent bodies get their own outcomes', async () => {
    const ids = Array.from({ length: 40 }, (_, index) => `0190a5b2-7c3d-7e4f-8a1b-${index.toString(16).padStart(12, '0')}`)
    const outcomes = await Promise.all(ids.map((id) => workers.prepare(input(JSON.stringify([valid(id)])))))
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.kind === 'prepared' && outcome.events[0]?.kind === 'event' ? outcome.events[0].row.event_id : outcome.kind)),
      ids,
    )
  })
})

/** Starts a one-worker preparer on a test worker script and counts the workers that die. */
async function startFailingPreparer(scriptName: string, onWorkerFailure: () => void = () => {}): Promise<{ preparer: WorkerBodyPreparer; failures(): number }> {
  const script = new URL(`../support/${scriptName}`, import.meta.url)
  let failures = 0
  const counted = (): void => {
    failures++
    onWorkerFailure()
  }
  const preparer = new WorkerBodyPreparer({ workers: 1, validation, limits, logger, script, onWorkerFailure: counted })
  await preparer.start()
  return { preparer, failures: () => failures }
}

const POISON = { ...valid('0190a5b2-7c3d-7e4f-8a1b-0000000000ff'), action: 'poison' }

describe('worker body preparer failures', () => {
  test('pending body fails with 503, then respawns', async () => {
    const { preparer, failures } = await startFailingPreparer('exiting-prepare-worker.js')
    try {
      const body = BODIES[0]?.[1]
      assert.ok(body)
      for (let round = 0; round < 2; round++) {
        await assert.rejects(preparer.prepare(body), (err: unknown) => {
          assert.ok(isSiemError(err, 'SIEM_ERR_INGEST_WORKER_FAILED'), String(err))
          assert.equal(err.statusCode, 503)
          assert.equal(err.retryAfterSeconds, 1)
          return true
        })
      }
      assert.deepEqual(preparer.stats(), { pendingBodies: 0, workerFailures: 2 })
      assert.equal(failures(), 2)
    } finally {
      await preparer.close()
    }
  })

  test('poison body fails alone', async () => {
    const { preparer, failures } = await startFailingPreparer('poison-prepare-worker.js')
    try {
      const ids = Array.from({ length: 4 }, (_, index) => `0190a5b2-7c3d-7e4f-8a1b-${index.toString(16).padStart(12, '0')}`)
      // All five are pending on the one worker when the poison kills it.
      const bodies = [...ids.slice(0, 2).map((id) => [valid(id)]), [POISON], ...ids.slice(2).map((id) => [valid(id)])]
      const settled = await Promise.allSettled(bodies.map((events) => preparer.prepare(input(JSON.stringify(events)))))
      const summary = settled.map((result) => {
        if (result.status === 'rejected') return isSiemError(result.reason, 'SIEM_ERR_INGEST_WORKER_FAILED') ? 'failed with 503' : String(result.reason)
        const event = result.value.kind === 'prepared' ? result.value.events[0] : undefined
        return event?.kind === 'event' ? event.row.event_id : result.value.kind
      })
      assert.deepEqual(summary, [ids[0], ids[1], 'failed with 503', ids[2], ids[3]])
      // The worker that had all five, then the isolation worker that had the poison alone.
      assert.equal(failures(), 2)
      assert.equal(preparer.stats().pendingBodies, 0)
      // A new worker takes the next body.
      const next = await preparer.prepare(input(JSON.stringify([valid(ids[0] as string)])))
      assert.equal(next.kind, 'prepared')
    } finally {
      await preparer.close()
    }
  })

  test('close during retries settles every body', async () => {
    let died: () => void = () => {}
    const firstDeath = new Promise<void>((resolve) => {
      died = resolve
    })
    const { preparer } = await startFailingPreparer('poison-prepare-worker.js', () => died())
    const bodies = [[valid('0190a5b2-7c3d-7e4f-8a1b-000000000001')], [POISON], [valid('0190a5b2-7c3d-7e4f-8a1b-000000000002')]]
    const pending = Promise.allSettled(bodies.map((events) => preparer.prepare(input(JSON.stringify(events)))))
    await firstDeath
    await preparer.close()
    const settled = await pending
    // Each body either was prepared before the close or failed, so none is left waiting.
    for (const result of settled) {
      if (result.status === 'rejected') assert.ok(isSiemError(result.reason, 'SIEM_ERR_INGEST_WORKER_FAILED'), String(result.reason))
    }
    assert.equal(preparer.stats().pendingBodies, 0)
  })

  test('start fails on a missing script', async () => {
    const script = new URL('../support/no-such-worker.js', import.meta.url)
    const preparer = new WorkerBodyPreparer({ workers: 1, validation, limits, logger, script })
    await assert.rejects(preparer.start())
    await preparer.close()
  })

  test('prepare after close is rejected', async () => {
    const preparer = new WorkerBodyPreparer({ workers: 1, validation, limits, logger })
    await preparer.start()
    await preparer.close()
    const body = BODIES[0]?.[1]
    assert.ok(body)
    await assert.rejects(preparer.prepare(body), (err: unknown) => isSiemError(err, 'SIEM_ERR_QUEUE_CLOSED'))
  })
})
