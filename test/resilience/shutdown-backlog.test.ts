import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startClickHouseStack, type ClickHouseStack } from './support/clickhouse-stack.js'
import { assertExactlyOnce } from './support/id-sets.js'
import { LoadGenerator } from './support/load-generator.js'
import { startService, writeConfigFile, type ServiceProcess } from './support/service-process.js'
import { clientReader, readStoredState } from './support/stored-events.js'

const SHUTDOWN_WAIT_MS = 1000
/** Time the process may take beyond shutdown_wait to close its files and exit. */
const EXIT_MARGIN_MS = 1500
const PRODUCT = 'shutdown_backlog'

let stack: ClickHouseStack
let workDir: string
const services: ServiceProcess[] = []

before(async () => {
  stack = await startClickHouseStack()
  workDir = await mkdtemp(join(tmpdir(), 'siem-shutdown-'))
})

after(async () => {
  for (const service of services) await service.kill()
  await stack.close()
  await rm(workDir, { recursive: true, force: true })
})

test('SIGTERM with ClickHouse down keeps the backlog', async () => {
  const dataDir = join(workDir, 'data')
  // request_timeout keeps its default (30 s): an insert hanging on the
  // black-holed proxy must not hold the shutdown past shutdown_wait.
  const configFile = writeConfigFile(join(workDir, 'config.yaml'), {
    shutdown_wait: `${SHUTDOWN_WAIT_MS}ms`,
    writer: { flush_interval: '50ms', retry_initial_delay: '50ms', retry_max_delay: '500ms' },
  })
  const options = { dataDir, configFile, env: { SIEM_CLICKHOUSE_URL: stack.proxy.url }, logFile: join(workDir, 'service.log') }
  const first = await startService(options)
  services.push(first)
  const load = new LoadGenerator({ concurrency: 4, eventsPerRequest: 25, product: PRODUCT })
  load.setTarget(first.url)
  load.start()
  await load.waitForAcknowledged(200)
  stack.proxy.setMode('blackhole')
  await load.waitForAcknowledged(2000)
  await load.stop()
  assert.ok((await first.queueDepth()) >= 2000, 'the backlog is in the queue when SIGTERM comes')

  // The health check must not wait the whole request_timeout for a ping that gets no response.
  const probeStarted = Date.now()
  const health = await fetch(`${first.url}/health`, { signal: AbortSignal.timeout(10_000) })
  assert.equal(health.status, 503)
  assert.equal(((await health.json()) as { status: string }).status, 'unhealthy')
  assert.ok(Date.now() - probeStarted < 4000, `/health took ${Date.now() - probeStarted} ms with ClickHouse black-holed`)

  const stopped = await first.stop(30_000)
  assert.ok(stopped.durationMs < SHUTDOWN_WAIT_MS + EXIT_MARGIN_MS, `exit took ${stopped.durationMs} ms with shutdown_wait ${SHUTDOWN_WAIT_MS} ms`)
  assert.equal(stopped.code, 1, 'exit code 1 tells that events were left in the spool')
  const left = first.warnings.find((record) => record.msg === 'shutdown wait elapsed with events not stored')
  assert.ok(left !== undefined, `no log line about the events left; output:\n${first.output()}`)
  assert.ok(Number(left['events_left']) >= 2000)
  const segments = (await readdir(join(dataDir, 'spool'))).filter((name) => name.endsWith('.log'))
  assert.ok(segments.length > 0, 'the spool keeps its segments')

  stack.proxy.setMode('pass')
  const second = await startService(options)
  services.push(second)
  const opened = second.recordsWithMessage('spool opened')[0]
  assert.ok(Number(opened?.['events']) + Number(opened?.['backlog_events']) >= 2000, `spool opened with ${JSON.stringify(opened)}`)
  await second.waitForEmptyQueue()
  assert.equal((await second.stop()).code, 0)

  const state = await readStoredState(clientReader(stack.direct), PRODUCT)
  assertExactlyOnce({ sent: load.sent, acknowledged: load.acknowledged, rejected: load.rejected, stored: state.events })
})
