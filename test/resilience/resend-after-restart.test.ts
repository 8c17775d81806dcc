import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeEvents, type InputEvent } from './support/events.js'
import { startService, writeConfigFile, type ServiceProcess } from './support/service-process.js'
import { cliReader, readStoredState } from './support/stored-events.js'

const PRODUCT = 'resend_restart'

let workDir: string
let dataDir: string
let configFile: string
/** A writer that never flushes on its own, so that acknowledged events stay in the spool until the kill. */
let holdingConfigFile: string
let service: ServiceProcess | undefined

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'siem-resend-restart-'))
  dataDir = join(workDir, 'data')
  configFile = writeConfigFile(join(workDir, 'config.yaml'), { writer: { flush_interval: '50ms' } })
  holdingConfigFile = writeConfigFile(join(workDir, 'holding.yaml'), {
    writer: { flush_interval: '1h', idle_flush: '0s', batch_size: 100_000 },
  })
})

after(async () => {
  await service?.kill()
  await rm(workDir, { recursive: true, force: true })
})

interface Reply {
  status: number
  accepted: number
  duplicates: number
}

async function post(events: ReadonlyArray<Partial<InputEvent>>, ack: 'durable' | 'committed'): Promise<Reply> {
  assert.ok(service !== undefined)
  const response = await fetch(`${service.url}/v1/events?ack=${ack}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  })
  const body = (await response.json()) as { accepted: number; duplicates: number }
  return { status: response.status, accepted: body.accepted, duplicates: body.duplicates }
}

async function restart(file: string, directory = dataDir): Promise<void> {
  service = await startService({ dataDir: directory, configFile: file })
}

test('re-send after kill -9 is skipped', async () => {
  const stored = makeEvents(40, PRODUCT)
  const spooled = makeEvents(30, PRODUCT)

  await restart(configFile)
  assert.deepEqual(await post(stored, 'committed'), { status: 200, accepted: 40, duplicates: 0 })
  await service?.kill('SIGKILL')

  // The stored events are now in ClickHouse only. The next events stay in the spool.
  await restart(holdingConfigFile)
  assert.deepEqual(await post(stored, 'durable'), { status: 200, accepted: 0, duplicates: 40 })
  assert.deepEqual(await post(spooled, 'durable'), { status: 200, accepted: 30, duplicates: 0 })
  await service?.kill('SIGKILL')

  await restart(configFile)
  assert.deepEqual(await post(spooled, 'durable'), { status: 200, accepted: 0, duplicates: 30 })
  assert.deepEqual(await post([...stored, ...spooled], 'committed'), { status: 200, accepted: 0, duplicates: 70 })
  assert.equal((await service?.stop())?.code, 0)
  service = undefined

  const state = await readStoredState(cliReader({ dataDir, configFile }), PRODUCT)
  assert.deepEqual([...state.events.keys()].sort(), [...stored, ...spooled].map((event) => event.event_id).sort())
  assert.deepEqual(state.duplicateRows, [])
})

test('generated ids leave sender ids in the window', async () => {
  // A window of 100 ids, then 200 events with server-generated ids. If the rebuild
  // took those, they would push every sender id out of the window.
  const smallDir = join(workDir, 'small')
  const smallConfig = writeConfigFile(join(workDir, 'small.yaml'), { writer: { flush_interval: '50ms' }, ingest: { dedup_window_events: 100 } })
  const product = `${PRODUCT}_generated`
  const sent = makeEvents(50, product)
  const unnamed = makeEvents(200, product).map(({ event_id: _generated, ...rest }) => rest)

  await restart(smallConfig, smallDir)
  assert.deepEqual(await post(sent, 'durable'), { status: 200, accepted: 50, duplicates: 0 })
  assert.deepEqual(await post(unnamed, 'committed'), { status: 200, accepted: 200, duplicates: 0 })
  await service?.kill('SIGKILL')

  await restart(smallConfig, smallDir)
  assert.deepEqual(await post(sent, 'committed'), { status: 200, accepted: 0, duplicates: 50 })
  assert.equal((await service?.stop())?.code, 0)
  service = undefined

  const state = await readStoredState(cliReader({ dataDir: smallDir, configFile: smallConfig }), product)
  assert.equal(state.events.size, 250)
  assert.deepEqual(state.duplicateRows, [])
})
