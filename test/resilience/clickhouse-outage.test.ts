import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startClickHouseStack, type ClickHouseStack } from './support/clickhouse-stack.js'
import { makeEvents } from './support/events.js'
import { assertExactlyOnce, compareDelivery } from './support/id-sets.js'
import { LoadGenerator } from './support/load-generator.js'
import { runOutageScenario, type OutageFault, type OutageScenarioResult } from './support/outage-scenario.js'
import { startService, writeConfigFile } from './support/service-process.js'
import { clientReader, readStoredState } from './support/stored-events.js'

const SPOOL_MAX_BYTES = 1024 * 1024
/** Upper bound of one request's spool record: 25 events of well under 1 KiB each. */
const MAX_RECORD_BYTES = 32 * 1024
const OUTAGE_MS = Number(process.env['SIEM_TEST_OUTAGE_MS'] ?? 3000)

let stack: ClickHouseStack

before(async () => {
  stack = await startClickHouseStack()
})

after(async () => {
  await stack.close()
})

function checkOutage(result: OutageScenarioResult): void {
  assertExactlyOnce(result.delivery, result.report)
  assert.deepEqual(result.derivedProblems, [])
  assert.deepEqual(result.anomalies, [])
  assert.equal(result.stopCode, 0, 'the service stops cleanly once the backlog is stored')

  assert.ok(result.rejections.length > 0, `the spool cap was never reached: ${result.loadSummary}`)
  for (const rejection of result.rejections) {
    assert.equal(rejection.status, 503)
    assert.equal(rejection.code, 'SIEM_ERR_SPOOL_FULL')
    assert.equal(rejection.retryAfter, '1')
    assert.ok(rejection.at >= result.outageStartedAt, 'a 503 came before ClickHouse became unreachable')
  }
  assert.ok(result.acknowledgedBeforeCap > 0, 'no request was acknowledged between the start of the outage and the cap')
  const spoolBytes = result.spoolBytesAtFirstRejection ?? 0
  assert.ok(spoolBytes > SPOOL_MAX_BYTES - MAX_RECORD_BYTES, `first 503 with the spool at ${spoolBytes} of ${SPOOL_MAX_BYTES} bytes`)
  assert.ok(result.maxSpoolBytes <= SPOOL_MAX_BYTES, `the spool grew to ${result.maxSpoolBytes} bytes, past its cap of ${SPOOL_MAX_BYTES}`)
  assert.ok(result.acknowledgedAfterRecovery >= 500)
}

describe('ClickHouse unreachable during load', () => {
  const faults: OutageFault[] = ['blackhole', 'kill']
  for (const fault of faults) {
    test(`${fault}: nothing acknowledged lost or doubled`, async () => {
      const result = await runOutageScenario({ stack, fault, outageMs: OUTAGE_MS, spoolMaxBytes: SPOOL_MAX_BYTES, product: `outage_${fault}` })
      checkOutage(result)
    })
  }
})

/** Bytes of the files in `dir`. */
async function directoryBytes(dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size
  return total
}

/** Posts 50 events: more than the room the load's rejected 25-event requests left below the cap. */
async function postOne(url: string, ids: Set<string>): Promise<Response> {
  const events = makeEvents(50, 'disk_cap')
  for (const event of events) ids.add(event.event_id)
  return fetch(`${url}/v1/events?ack=durable`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  })
}

describe('spool disk cap', () => {
  test('503 with Retry-After, accepted after the drain', async () => {
    const maxBytes = 512 * 1024
    const workDir = await mkdtemp(join(tmpdir(), 'siem-disk-cap-'))
    const dataDir = join(workDir, 'data')
    const configFile = writeConfigFile(join(workDir, 'config.yaml'), {
      queue: { retry_after: '2s', spool: { max_bytes: maxBytes, segment_size: '64KiB' } },
      writer: { flush_interval: '50ms', retry_initial_delay: '50ms', retry_max_delay: '500ms' },
      storage: { server: { request_timeout: '2s' } },
    })
    const service = await startService({ dataDir, configFile, env: { SIEM_CLICKHOUSE_URL: stack.proxy.url } })
    const load = new LoadGenerator({ concurrency: 4, eventsPerRequest: 25, product: 'disk_cap' })
    try {
      stack.proxy.setMode('blackhole')
      load.setTarget(service.url)
      load.start()
      while (load.rejections.length < 20) await new Promise((resolve) => setTimeout(resolve, 20))
      await load.stop()

      const spoolDir = join(dataDir, 'spool')
      const onDisk = await directoryBytes(spoolDir)
      assert.ok(onDisk <= maxBytes, `the spool directory holds ${onDisk} bytes, past its cap of ${maxBytes}`)
      assert.ok(onDisk > maxBytes - 32 * 1024, `the spool directory holds only ${onDisk} of ${maxBytes} bytes`)
      assert.ok(load.acknowledged.size > 0)
      for (const rejection of load.rejections) {
        assert.equal(rejection.status, 503)
        assert.equal(rejection.code, 'SIEM_ERR_SPOOL_FULL')
        assert.equal(rejection.retryAfter, '2')
      }

      const rejectedIds = new Set<string>()
      const rejected = await postOne(service.url, rejectedIds)
      assert.equal(rejected.status, 503)
      assert.equal(rejected.headers.get('retry-after'), '2')
      const rejectedBody = (await rejected.json()) as { error: { code: string; message: string } }
      assert.equal(rejectedBody.error.code, 'SIEM_ERR_SPOOL_FULL')
      assert.match(rejectedBody.error.message, /spool\.max_bytes/)

      stack.proxy.setMode('pass')
      await service.waitForEmptyQueue()
      const acceptedIds = new Set<string>()
      const accepted = await postOne(service.url, acceptedIds)
      assert.equal(accepted.status, 200)
      await service.waitForEmptyQueue()
      assert.equal((await service.stop()).code, 0)

      const state = await readStoredState(clientReader(stack.direct), 'disk_cap')
      const acknowledged = new Set([...load.acknowledged, ...acceptedIds])
      const sent = new Set([...load.sent, ...rejectedIds, ...acceptedIds])
      const rejectedAll = new Set([...load.rejected, ...rejectedIds])
      const delivery = { sent, acknowledged, rejected: rejectedAll, stored: state.events }
      assertExactlyOnce(delivery, compareDelivery(delivery))
    } finally {
      stack.proxy.setMode('pass')
      await load.stop()
      await service.kill()
      await rm(workDir, { recursive: true, force: true })
    }
  })
})
