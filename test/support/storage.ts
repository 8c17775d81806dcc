import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { loadConfig } from '../../src/config/load.js'
import { openStorage, type Storage } from '../../src/storage/client.js'

/** Opens embedded storage in `root/clickhouse`, for tests that need the engine without the service. */
export async function openTestStorage(root: string): Promise<Storage> {
  const config = loadConfig({ env: {}, overrides: { storage: { data_dir: join(root, 'clickhouse') } } })
  return openStorage(config.storage)
}

/** Closes storage opened by `openTestStorage` and removes `root`. */
export async function closeTestStorage(storage: Storage, root: string): Promise<void> {
  await storage.close()
  rmSync(root, { recursive: true, force: true })
}

/** Runs a read query and returns its rows. */
export async function readRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' })
  return result.json<T>()
}
