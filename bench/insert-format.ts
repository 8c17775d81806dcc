/**
 * Compares JSONEachRow with JSONCompactEachRow for the writer's inserts.
 * The same 20,000-row batches of generated events go into `events`, made by
 * the real migrations on a fresh data directory, in each format. Each format
 * runs for 15 s with two inserts in flight, in two rounds.
 *
 * Run: npx tsc -p . && node dist/bench/insert-format.js
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import type { EventRow } from '../src/schema/event.js'
import { openStorage } from '../src/storage/client.js'
import { runMigrations } from '../src/storage/migrator.js'
import { insertSettings } from '../src/storage/row-sink.js'
import { generateRowBatches } from './model/validated-rows.js'

const BATCH_ROWS = 20_000
const BATCHES = 8
const SECONDS = 15

const dataDir = mkdtempSync(join(tmpdir(), 'siem-insert-format-'))
const config = loadConfig({ env: {}, overrides: { storage: { mode: 'embedded', data_dir: dataDir } } })
const storage = await openStorage(config.storage)
try {
  await runMigrations(storage.client, createLogger({ level: 'silent' }))
  const batches = generateRowBatches(1, BATCHES, BATCH_ROWS)
  const columns = Object.keys(batches[0]?.[0] ?? {}) as Array<keyof EventRow>
  const eachRow = batches.map((rows) => Buffer.from(rows.map((row) => JSON.stringify(row)).join('\n') + '\n'))
  const compact = batches.map((rows) => Buffer.from(rows.map((row) => JSON.stringify(columns.map((column) => row[column]))).join('\n') + '\n'))
  console.log(`bytes a row: JSONEachRow ${(eachRow[0]?.length ?? 0) / BATCH_ROWS}, JSONCompactEachRow ${(compact[0]?.length ?? 0) / BATCH_ROWS}`)

  let token = 0
  const rate = async (bodies: Buffer[], format: string): Promise<number> => {
    let rows = 0
    let next = 0
    const started = performance.now()
    const endAt = started + SECONDS * 1000
    const loop = async (): Promise<void> => {
      while (performance.now() < endAt) {
        const body = bodies[next++ % bodies.length] as Buffer
        const result = await storage.client.exec({
          query: `INSERT INTO events (${columns.join(', ')}) FORMAT ${format}`,
          values: Readable.from([body]),
          clickhouse_settings: insertSettings(`format-${token++}`),
        })
        for await (const chunk of result.stream) void chunk
        rows += BATCH_ROWS
      }
    }
    await Promise.all([loop(), loop()])
    return rows / ((performance.now() - started) / 1000)
  }
  for (let round = 1; round <= 2; round++) {
    const eachRowRate = await rate(eachRow, 'JSONEachRow')
    const compactRate = await rate(compact, 'JSONCompactEachRow')
    console.log(`round ${round}: JSONEachRow ${Math.round(eachRowRate)} rows/s, JSONCompactEachRow ${Math.round(compactRate)} rows/s`)
  }
} finally {
  await storage.close()
  rmSync(dataDir, { recursive: true, force: true })
}
