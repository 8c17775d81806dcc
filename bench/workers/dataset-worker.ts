import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/logger.js'
import { openStorage } from '../../src/storage/client.js'
import { runMigrations } from '../../src/storage/migrator.js'
import { datasetInsertSql } from '../model/sql-generator.js'

/**
 * Builds the query data set in a fresh data directory: the real migrations,
 * then INSERT … SELECT FROM numbers() in slices, so the materialized views
 * fill the critical copy and the hourly rollup as ingest would. The server
 * is started on the directory afterwards; chdb opens one data directory
 * per process, so this runs in a process of its own.
 */

export interface DatasetJob {
  dataDir: string
  events: number
  /** Newest event time, epoch milliseconds; events spread over the `spanMs` before it. */
  endMs: number
  spanMs: number
}

export interface DatasetReport {
  rows: number
  seconds: number
}

export type DatasetMessage = { type: 'done'; report: DatasetReport } | { type: 'error'; message: string }

/** Rows per INSERT statement; bounds the engine's memory per statement. */
const SLICE_ROWS = 1_000_000

async function build(job: DatasetJob): Promise<DatasetReport> {
  const config = loadConfig({ env: {}, overrides: { storage: { mode: 'embedded', data_dir: job.dataDir } } })
  const storage = await openStorage(config.storage)
  try {
    await runMigrations(storage.client, createLogger({ level: 'silent' }))
    const started = performance.now()
    for (let start = 0; start < job.events; start += SLICE_ROWS) {
      const count = Math.min(SLICE_ROWS, job.events - start)
      await storage.client.command({ query: datasetInsertSql({ start, count, endMs: job.endMs, spanMs: job.spanMs }) })
    }
    const seconds = (performance.now() - started) / 1000
    const result = await storage.client.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' })
    const rows = Number(((await result.json<{ n: string }>())[0] as { n: string }).n)
    return { rows, seconds }
  } finally {
    await storage.close()
  }
}

process.once('message', (message: { type: 'job'; job: DatasetJob }) => {
  build(message.job).then(
    (report) => process.send?.({ type: 'done', report } satisfies DatasetMessage, () => process.disconnect()),
    (err: unknown) =>
      process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies DatasetMessage, () =>
        process.disconnect(),
      ),
  )
})
