import type { RunContext } from '../context.js'
import { summarize, type Distribution } from '../support/stats.js'
import { forkWorker, nextMessage, workerExit } from '../support/workers.js'
import type { CeilingJob, CeilingMessage, CeilingReport } from '../workers/ceiling-worker.js'

export interface CeilingResult {
  /** Rows a second of pre-serialized JSONEachRow inserts: the ceiling the other figures are compared with. */
  rows_per_s: number
  rows: number
  seconds: number
  batch_size: number
  concurrency: number
  insert_ms: Distribution
  json_bytes_per_row: number
  /** The same rows as objects through the writer's ClickHouseRowSink, which serializes them. */
  row_sink_rows_per_s: number
  row_sink_insert_ms: Distribution
  /** Pre-serialized inserts of batches ten times the writer's size. */
  large_batch_size: number
  large_batch_rows_per_s: number
  cpu_seconds: number
  engine_version: string
}

/** Runs the ceiling worker on a fresh data directory in a process of its own. */
export async function runCeiling(context: RunContext): Promise<CeilingResult> {
  const seconds = context.options.ceilingSeconds
  const job: CeilingJob = {
    dataDir: context.directory('ceiling'),
    durationMs: seconds * 1000,
    rowSinkDurationMs: Math.max(2000, (seconds * 1000) / 2),
    largeBatchDurationMs: Math.max(2000, (seconds * 1000) / 2),
    poolBatches: 32,
    seed: 1,
  }
  context.progress(
    `ceiling: ${seconds} s of pre-serialized inserts, ${job.rowSinkDurationMs / 1000} s through the row sink, ` +
      `${job.largeBatchDurationMs / 1000} s of large batches`,
  )
  const child = forkWorker('ceiling-worker')
  const done = nextMessage<Extract<CeilingMessage, { type: 'done' }>>(child, 'done')
  child.send({ type: 'job', job })
  const report: CeilingReport = (await done).report
  await workerExit(child)
  const result: CeilingResult = {
    rows_per_s: Math.round(report.preSerialized.rowsPerSecond),
    rows: report.preSerialized.rows,
    seconds: report.preSerialized.seconds,
    batch_size: report.batchSize,
    concurrency: report.concurrency,
    insert_ms: summarize(report.preSerialized.insertMs),
    json_bytes_per_row: Math.round(report.jsonBytesPerRow),
    row_sink_rows_per_s: Math.round(report.rowSink.rowsPerSecond),
    row_sink_insert_ms: summarize(report.rowSink.insertMs),
    large_batch_size: report.largeBatchSize,
    large_batch_rows_per_s: Math.round(report.largeBatch.rowsPerSecond),
    cpu_seconds: report.cpuSeconds,
    engine_version: report.engineVersion,
  }
  context.progress(
    `ceiling: ${result.rows_per_s} rows/s (row sink ${result.row_sink_rows_per_s}, ` +
      `batches of ${result.large_batch_size} ${result.large_batch_rows_per_s} rows/s)`,
  )
  return result
}
