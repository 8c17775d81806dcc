import type { RunContext } from '../context.js'
import { summarize, type Distribution } from '../support/stats.js'
import { forkWorker, nextMessage, workerExit } from '../support/workers.js'
import type { CeilingJob, CeilingMessage, CeilingReport } from '../workers/ceiling-worker.js'

/** One timed run of pre-serialized inserts on a fresh data directory. */
export interface CeilingSample {
  /** When it ran: before or after the end-to-end stage. */
  when: 'before end to end' | 'after end to end'
  rows_per_s: number
  rows: number
  seconds: number
  cpu_seconds: number
}

export interface CeilingResult {
  /**
   * Rows a second of pre-serialized JSONEachRow inserts: the ceiling the
   * other figures are compared with. The mean of `samples` when the run
   * took a second one after the end-to-end stage.
   */
  rows_per_s: number
  /**
   * The first sample, and a second one after the end-to-end stage when that
   * stage ran. The engine's rate varied by up to a third between runs of
   * one day, so a single sample could decide the ratio by itself. Two
   * samples around the end-to-end stage measure the engine over the same
   * stretch of time.
   */
  samples: CeilingSample[]
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

async function runWorker(job: CeilingJob): Promise<CeilingReport> {
  const child = forkWorker('ceiling-worker')
  const done = nextMessage<Extract<CeilingMessage, { type: 'done' }>>(child, 'done')
  child.send({ type: 'job', job })
  const report = (await done).report
  await workerExit(child)
  return report
}

function sampleOf(report: CeilingReport, when: CeilingSample['when']): CeilingSample {
  const phase = report.preSerialized
  return { when, rows_per_s: Math.round(phase.rowsPerSecond), rows: phase.rows, seconds: phase.seconds, cpu_seconds: report.cpuSeconds }
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
  const report = await runWorker(job)
  if (report.rowSink === undefined || report.largeBatch === undefined) throw new Error('the ceiling worker returned no row-sink or large-batch phase')
  const result: CeilingResult = {
    rows_per_s: Math.round(report.preSerialized.rowsPerSecond),
    samples: [sampleOf(report, 'before end to end')],
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

/**
 * Takes the second sample, the pre-serialized phase alone on another fresh
 * data directory, and returns the result with both samples and their mean
 * as the ceiling.
 */
export async function addSecondCeilingSample(context: RunContext, first: CeilingResult): Promise<CeilingResult> {
  const seconds = context.options.ceilingSeconds
  context.progress(`ceiling, second sample: ${seconds} s of pre-serialized inserts`)
  const report = await runWorker({
    dataDir: context.directory('ceiling-after'),
    durationMs: seconds * 1000,
    rowSinkDurationMs: 0,
    largeBatchDurationMs: 0,
    poolBatches: 32,
    seed: 1,
    preSerializedOnly: true,
  })
  const samples = [...first.samples, sampleOf(report, 'after end to end')]
  const rowsPerSecond = Math.round(samples.reduce((sum, sample) => sum + sample.rows_per_s, 0) / samples.length)
  context.progress(`ceiling, second sample: ${samples[1]?.rows_per_s} rows/s; the ceiling is their mean, ${rowsPerSecond} rows/s`)
  return { ...first, rows_per_s: rowsPerSecond, samples }
}
