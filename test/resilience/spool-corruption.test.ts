import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, open, rm, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startClickHouseStack, type ClickHouseStack } from './support/clickhouse-stack.js'
import { makeEvents } from './support/events.js'
import { startService, writeConfigFile, type ServiceProcess } from './support/service-process.js'
import { listSegments, readSegment, type SpoolRecord } from './support/spool-segments.js'
import { clientReader, readStoredState } from './support/stored-events.js'

const PRODUCT = 'spool_damage'
const REQUESTS = 40

let stack: ClickHouseStack
let workDir: string
const services: ServiceProcess[] = []

before(async () => {
  stack = await startClickHouseStack()
  workDir = await mkdtemp(join(tmpdir(), 'siem-spool-damage-'))
})

after(async () => {
  for (const service of services) await service.kill()
  await stack.close()
  await rm(workDir, { recursive: true, force: true })
})

async function post(url: string, count: number, ack: string): Promise<string[]> {
  const events = makeEvents(count, PRODUCT)
  const response = await fetch(`${url}/v1/events?ack=${ack}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  })
  assert.equal(response.status, 200, await response.text())
  return events.map((event) => event.event_id)
}

/** Flips one bit in the middle of a record's payload. */
async function flipByte(record: SpoolRecord): Promise<void> {
  const position = record.offset + Math.floor(record.length / 2)
  const file = await open(record.segment, 'r+')
  try {
    const byte = Buffer.alloc(1)
    await file.read(byte, 0, 1, position)
    byte[0] = (byte[0] as number) ^ 0x01
    await file.write(byte, 0, 1, position)
  } finally {
    await file.close()
  }
}

test('damaged spool records are reported and skipped', async () => {
  const dataDir = join(workDir, 'data')
  const spoolDir = join(dataDir, 'spool')
  const configFile = writeConfigFile(join(workDir, 'config.yaml'), {
    shutdown_wait: '500ms',
    queue: { spool: { segment_size: '16KiB' } },
    writer: { flush_interval: '50ms', batch_size: 100, retry_initial_delay: '50ms', retry_max_delay: '500ms' },
    storage: { server: { request_timeout: '2s' } },
  })
  const options = { dataDir, configFile, env: { SIEM_CLICKHOUSE_URL: stack.proxy.url }, logFile: join(workDir, 'service.log') }

  // Fill the spool while ClickHouse is unreachable, then stop with the events still in it.
  const first = await startService(options)
  services.push(first)
  stack.proxy.setMode('blackhole')
  const acknowledged: string[] = []
  for (let request = 0; request < REQUESTS; request++) acknowledged.push(...(await post(first.url, 10, 'durable')))
  assert.equal((await first.stop()).code, 1, 'events are left in the spool')

  const segments = await listSegments(spoolDir)
  assert.ok(segments.length >= 4, `expected several 16 KiB segments, found ${segments.length}`)
  const middle = await readSegment(segments[Math.floor(segments.length / 2)] as string)
  const flipped = middle.filter((record) => record.type === 'data')[1]
  assert.ok(flipped !== undefined, 'the middle segment holds at least two data records')
  const lastRecords = await readSegment(segments.at(-1) as string)
  const torn = lastRecords.at(-1)
  assert.ok(torn !== undefined, 'the last segment holds a record')
  assert.equal(torn.type, 'data', 'the last record is a data record')
  await flipByte(flipped)
  await truncate(torn.segment, torn.offset + Math.floor(torn.length / 2))
  const lost = new Set([...flipped.eventIds, ...torn.eventIds])
  assert.equal(lost.size, 20)

  stack.proxy.setMode('pass')
  const second = await startService(options)
  services.push(second)
  const damage = second.recordsWithMessage('damaged spool record skipped')
  const at = (record: SpoolRecord) => damage.find((entry) => entry['segment'] === record.segment && entry['offset'] === record.offset)
  assert.ok(at(flipped) !== undefined, `flipped byte not reported at ${flipped.segment}:${flipped.offset}; reported ${JSON.stringify(damage)}`)
  assert.match(String(at(flipped)?.['reason']), /checksum|crc/i)
  assert.ok(at(torn) !== undefined, `torn tail not reported at ${torn.segment}:${torn.offset}; reported ${JSON.stringify(damage)}`)
  assert.equal(damage.length, 2)
  const cut = second.warnings.find((entry) => entry.msg === 'spool segment cut at its last valid record so new records append cleanly')
  assert.equal(cut?.['segment'], torn.segment)
  assert.equal(cut?.['offset'], torn.offset)

  // The service keeps running: the rest is replayed and new events are stored.
  await second.waitForEmptyQueue()
  const later = await post(second.url, 10, 'committed')
  assert.equal(await second.metric('siem_spool_damaged_records_total'), 2)
  assert.equal((await second.stop()).code, 0)

  const state = await readStoredState(clientReader(stack.direct), PRODUCT)
  const expected = [...acknowledged.filter((id) => !lost.has(id)), ...later].sort()
  assert.deepEqual([...state.events.keys()].sort(), expected)
  assert.deepEqual([...state.events.values()].filter((count) => count !== 1), [])
})
