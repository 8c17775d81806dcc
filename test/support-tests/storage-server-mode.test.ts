import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClickHouseError } from '@clickhouse/client'
import { loadConfig } from '../../src/config/load.js'
import type { StorageConfig } from '../../src/config/types.js'
import { SiemError } from '../../src/errors.js'
import { openStorage, type Storage } from '../../src/storage/client.js'
import { startClickHouseServer, type ClickHouseTestServer } from '../support/clickhouse-server/index.js'

const USER = 'siem_writer'
const PASSWORD = 'storage-test-password'

let dataDir: string
let server: ClickHouseTestServer
const opened: Storage[] = []

function storageConfig(overrides: Record<string, unknown> = {}): StorageConfig {
  const config = loadConfig({
    env: {},
    overrides: {
      storage: {
        mode: 'server',
        server: { url: server.url, username: USER, password: PASSWORD, database: 'siem_server_mode', ...overrides },
      },
    },
  })
  return config.storage
}

async function open(config: StorageConfig): Promise<Storage> {
  const storage = await openStorage(config)
  opened.push(storage)
  return storage
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'clickhouse-test-server-storage-'))
  server = await startClickHouseServer({ dataDir, user: USER, password: PASSWORD })
})

after(async () => {
  for (const storage of opened) await storage.close()
  await server.stop()
  await rm(dataDir, { recursive: true, force: true })
})

describe('openStorage in server mode', () => {
  test('creates and uses the configured database', async () => {
    const storage = await open(storageConfig())
    assert.equal(storage.mode, 'server')
    assert.equal(storage.database, 'siem_server_mode')
    assert.equal(storage.dataDir, undefined)
    const current = await storage.client.query({ query: 'SELECT currentDatabase() AS db', format: 'JSONEachRow' })
    assert.deepEqual(await current.json(), [{ db: 'siem_server_mode' }])
  })

  test('round-trips rows with exact 64-bit counts', async () => {
    const storage = await open(storageConfig())
    await storage.client.command({
      query: 'CREATE TABLE IF NOT EXISTS probe (id UInt64, at DateTime64(3, \'UTC\')) ENGINE = MergeTree ORDER BY id',
    })
    await storage.client.insert({
      table: 'probe',
      values: [
        { id: '18446744073709551615', at: '2024-01-02 03:04:05.678' },
        { id: '1', at: '2024-01-02 03:04:06.000' },
      ],
      format: 'JSONEachRow',
    })
    const result = await storage.client.query({ query: 'SELECT count() AS n, max(id) AS top FROM probe', format: 'JSONEachRow' })
    assert.deepEqual(await result.json(), [{ n: '2', top: '18446744073709551615' }])
  })

  test('several statements are rejected', async () => {
    const storage = await open(storageConfig())
    try {
      await storage.client.command({ query: 'SELECT 1; SELECT 2' })
      assert.fail('expected the server to reject two statements')
    } catch (err) {
      assert.ok(err instanceof ClickHouseError)
      assert.equal(err.type, 'SYNTAX_ERROR')
    }
  })

  test('wrong password is SIEM_ERR_STORAGE_UNAVAILABLE', async () => {
    try {
      await open(storageConfig({ password: 'wrong' }))
      assert.fail('expected openStorage to fail')
    } catch (err) {
      assert.ok(err instanceof SiemError)
      assert.equal(err.code, 'SIEM_ERR_STORAGE_UNAVAILABLE')
      assert.ok(err.cause instanceof ClickHouseError)
      assert.equal(err.cause.type, 'AUTHENTICATION_FAILED')
    }
  })

  test('stopped server is SIEM_ERR_STORAGE_UNAVAILABLE', async () => {
    await server.kill()
    try {
      await open(storageConfig())
      assert.fail('expected openStorage to fail')
    } catch (err) {
      assert.ok(err instanceof SiemError)
      assert.equal(err.code, 'SIEM_ERR_STORAGE_UNAVAILABLE')
      assert.match(err.message, /ECONNREFUSED/)
    } finally {
      await server.restart()
    }
    const storage = await open(storageConfig())
    assert.equal((await storage.client.ping()).success, true)
  })
})
