import { Readable } from 'node:stream'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/logger.js'
import type { EventRow } from '../../src/schema/event.js'
import { openStorage, type Storage } from '../../src/storage/client.js'
import { runMigrations } from '../../src/storage/migrator.js'
import { ClickHouseRowSink, insertSettings } from '../../src/storage/row-sink.js'
import { generateRowBatches } from '../model/validated-rows.js'

/**
 * Measures what the embedded engine ingests by itself. The rows are what
 * the validator produces, serialized to JSONEachRow before the clock
 * starts. They go into `events`, created with its materialized views and
 * indexes by the real migrations on a fresh data directory, in batches of
 * the writer's size, with the writer's statement, byte body, concurrency and insert settings. A second phase
 * sends row objects through the writer's ClickHouseRowSink, which adds the
 * client's JSON serialization, to show what that costs; a third inserts
 * pre-serialized batches ten times the writer's size, to show what the
 * batch size costs.
 */

export interface CeilingJob {
  dataDir: string
  durationMs: number
  rowSinkDurationMs: number
  largeBatchDurationMs: number
  /** Distinct batches generated up front and inserted in turn. */
  poolBatches: number
  seed: number
  /** Runs the pre-serialized phase alone: a second sample of the ceiling, taken after the end-to-end run. */
  preSerializedOnly?: boolean
}

export interface InsertPhase {
  rows: number
  batches: number
  seconds: number
  rowsPerSecond: number
  /** Milliseconds per insert statement. */
  insertMs: number[]
}

export interface CeilingReport {
  batchSize: number
  concurrency: number
  jsonBytesPerRow: number
  preSerialized: InsertPhase
  /** Absent when the job ran the pre-serialized phase alone. */
  rowSink?: InsertPhase
  largeBatchSize: number
  largeBatch?: InsertPhase
  cpuSeconds: number
  engineVersion: string
}

export type CeilingMessage = { type: 'done'; report: CeilingReport } | { type: 'error'; message: string }

/** Batches of a large-batch insert, in writer batches. */
const LARGE_BATCH_FACTOR = 10

async function timedInserts(
  durationMs: number,
  concurrency: number,
  batchSize: number,
  insert: (index: number) => Promise<void>,
): Promise<InsertPhase> {
  const insertMs: number[] = []
  let next = 0
  const started = performance.now()
  const endAt = started + durationMs
  const loop = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const index = next++
      const before = performance.now()
      await insert(index)
      insertMs.push(performance.now() - before)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  const seconds = (performance.now() - started) / 1000
  const rows = insertMs.length * batchSize
  return { rows, batches: insertMs.length, seconds, rowsPerSecond: rows / seconds, insertMs }
}

async function measure(job: CeilingJob): Promise<CeilingReport> {
  const config = loadConfig({ env: {}, overrides: { storage: { mode: 'embedded', data_dir: job.dataDir } } })
  const { batch_size: batchSize, concurrency } = config.writer
  const storage: Storage = await openStorage(config.storage)
  try {
    await runMigrations(storage.client, createLogger({ level: 'silent' }))
    const version = await storage.client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' })
    const engineVersion = ((await version.json<{ version: string }>())[0] as { version: string }).version

    const pool = generateRowBatches(job.seed, job.poolBatches, batchSize)
    const bodies = pool.map((rows) => Buffer.from(rows.map((row) => JSON.stringify(row)).join('\n') + '\n'))
    const jsonBytesPerRow = bodies.reduce((sum, body) => sum + body.length, 0) / (pool.length * batchSize)

    // The statement, settings and byte body of the writer's inserts, so that they take the same path into the engine.
    const insertBody = async (token: string, body: Buffer): Promise<void> => {
      const result = await storage.client.exec({
        query: 'INSERT INTO events FORMAT JSONEachRow',
        values: Readable.from([body]),
        clickhouse_settings: insertSettings(token),
      })
      for await (const chunk of result.stream) void chunk
    }
    // A few uncounted inserts, so that the first parts and the engine's caches do not count against the ceiling.
    for (let i = 0; i < 4; i++) await insertBody(`warm-up-${i}`, bodies[i % bodies.length] as Buffer)

    const cpuBefore = process.cpuUsage()
    const preSerialized = await timedInserts(job.durationMs, concurrency, batchSize, (index) =>
      insertBody(`ceiling-${index}`, bodies[index % bodies.length] as Buffer),
    )
    const cpu = process.cpuUsage(cpuBefore)
    const common = {
      batchSize,
      concurrency,
      jsonBytesPerRow,
      preSerialized,
      largeBatchSize: batchSize * LARGE_BATCH_FACTOR,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      engineVersion,
    }
    if (job.preSerializedOnly === true) return common

    const sink = new ClickHouseRowSink(storage.client)
    const rowSink = await timedInserts(job.rowSinkDurationMs, concurrency, batchSize, async (index) => {
      await sink.insert('events', pool[index % pool.length] as EventRow[], `row-sink-${index}`)
    })
    const largeBodies = Array.from({ length: Math.max(1, Math.floor(bodies.length / LARGE_BATCH_FACTOR)) }, (_, index) =>
      Buffer.concat(bodies.slice(index * LARGE_BATCH_FACTOR, (index + 1) * LARGE_BATCH_FACTOR)),
    )
    const largeBatch = await timedInserts(job.largeBatchDurationMs, concurrency, batchSize * LARGE_BATCH_FACTOR, (index) =>
      insertBody(`large-${index}`, largeBodies[index % largeBodies.length] as Buffer),
    )
    return { ...common, rowSink, largeBatch }
  } finally {
    await storage.close()
  }
}

process.once('message', (message: { type: 'job'; job: CeilingJob }) => {
  measure(message.job).then(
    (report) => process.send?.({ type: 'done', report } satisfies CeilingMessage, () => process.disconnect()),
    (err: unknown) =>
      process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies CeilingMessage, () =>
        process.disconnect(),
      ),
  )
})
