import { createHash } from 'node:crypto'
import type { WriterConfig } from '../config/types.js'
import type { Logger } from '../logger.js'
import type { WriterMetrics } from '../metrics/pipeline-metrics.js'
import type { Batch, EventQueue } from '../queue/types.js'
import type { EventRow, QuarantineRow } from '../schema/event.js'
import { backoffDelay, classifyInsertError } from './retry-policy.js'
import type { RowSink, TargetTable } from './row-sink.js'

export interface BatchWriterOptions {
  config: WriterConfig
  queue: Pick<EventQueue, 'take' | 'commit' | 'stats'>
  sink: RowSink
  metrics: WriterMetrics
  logger: Logger
}

interface RejectedRow {
  row: object
  message: string
}

/**
 * Age the oldest row of a batch must reach before an idle flush writes it.
 * Each insert makes a part, and ClickHouse's bulk-insert guide advises
 * about one insert a second, so idle flushes add at most one a second to
 * each writer loop.
 */
const IDLE_FLUSH_MIN_AGE_MS = 1000

/** Thrown out of a retry loop when the writer is stopped; the batch stays in the queue. */
class WriterStopped extends Error {}

/**
 * Moves batches from the queue to ClickHouse. Each of `concurrency` loops
 * takes a batch (at `batch_size` items, when the oldest is `flush_interval`
 * old, or when none arrived for `idle_flush`, the oldest is a second old
 * and at least `idle_flush_min_rows` wait), inserts its events and
 * quarantine rows with
 * deduplication tokens derived from the batch id, and commits the batch.
 *
 * A retriable failure is retried with capped exponential backoff and
 * jitter, without limit: a batch is never dropped. A failure caused by the
 * rows themselves is narrowed down by splitting the batch in halves until the
 * bad rows are alone. Those go to quarantine as `storage_rejected`, and the
 * rest is stored. A quarantine row that ClickHouse rejects in turn is logged
 * with its batch id and dropped, because no table is left to keep it.
 */
export class BatchWriter {
  readonly #config: WriterConfig
  readonly #queue: BatchWriterOptions['queue']
  readonly #sink: RowSink
  readonly #metrics: WriterMetrics
  readonly #logger: Logger
  readonly #stop = new AbortController()
  #loops: Promise<void>[] = []
  #failuresInARow = 0

  constructor(options: BatchWriterOptions) {
    this.#config = options.config
    this.#queue = options.queue
    this.#sink = options.sink
    this.#metrics = options.metrics
    this.#logger = options.logger
  }

  /** True while the last insert attempt failed; used by the health check. */
  get failing(): boolean {
    return this.#failuresInARow > 0
  }

  start(): void {
    if (this.#loops.length > 0) return
    for (let worker = 0; worker < this.#config.concurrency; worker++) {
      this.#loops.push(this.#run(worker))
    }
  }

  /**
   * Waits up to `timeoutMs` for the queue to empty (the caller has put it in
   * drain mode), then stops the loops. Returns false when events were left,
   * which stay in a disk spool for the next start.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (this.#queue.stats().depthEvents > 0 && Date.now() < deadline && this.#loops.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const flushed = this.#queue.stats().depthEvents === 0
    this.#stop.abort()
    await Promise.allSettled(this.#loops)
    this.#loops = []
    return flushed
  }

  async #run(worker: number): Promise<void> {
    const signal = this.#stop.signal
    while (!signal.aborted) {
      const batch = await this.#queue.take(this.#config.batch_size, this.#config.flush_interval, signal, {
        backlogItems: this.#config.max_batch_size,
        idleFlush: { afterMs: this.#config.idle_flush, minItems: this.#config.idle_flush_min_rows, minAgeMs: IDLE_FLUSH_MIN_AGE_MS },
      })
      if (batch === null) return
      try {
        await this.#guarded('store', batch, worker, () => this.#store(batch))
        await this.#guarded('commit', batch, worker, () => this.#queue.commit(batch.id))
      } catch (err) {
        if (err instanceof WriterStopped) return
        throw err
      }
    }
  }

  /**
   * Runs one step of a batch until it succeeds. #store already retries
   * ClickHouse errors; what reaches here is a failing commit (a spool that
   * cannot write its commit record) or a bug. Giving up would strand the
   * batch in flight, so the step is retried with backoff; a repeated store
   * is harmless because the deduplication tokens stay the same.
   */
  async #guarded(step: 'store' | 'commit', batch: Batch, worker: number, run: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await run()
        return
      } catch (err) {
        if (err instanceof WriterStopped) throw err
        const delay = backoffDelay(attempt, { initialMs: this.#config.retry_initial_delay, maxMs: this.#config.retry_max_delay })
        if (attempt % 10 === 0) {
          this.#logger.error({ err, batch_id: batch.id, worker, step, attempt: attempt + 1, retry_in_ms: delay }, 'batch step failed unexpectedly; retrying')
        }
        await this.#sleep(delay)
      }
    }
  }

  async #store(batch: Batch): Promise<void> {
    const started = performance.now()
    const events: EventRow[] = []
    const quarantine: QuarantineRow[] = []
    for (const item of batch.items) {
      if (item.table === 'events') events.push(item.row)
      else quarantine.push(item.row)
    }
    this.#metrics.pendingRows.inc(batch.items.length)
    try {
      if (events.length > 0) {
        const rejected = await this.#insertNarrowing('events', events, `${batch.id}:events`, batch.id)
        this.#metrics.rowsWritten.inc({ table: 'events' }, events.length - rejected.length)
        if (rejected.length > 0) {
          this.#metrics.rowsFailed.inc({ table: 'events' }, rejected.length)
          const rows = rejected.map((entry) => rejectedToQuarantine(entry, batch.id))
          await this.#insertRetrying('events_quarantine', rows, `${batch.id}:rejected`, batch.id)
          this.#metrics.rowsWritten.inc({ table: 'events_quarantine' }, rows.length)
        }
      }
      if (quarantine.length > 0) {
        const rejected = await this.#insertNarrowing('events_quarantine', quarantine, `${batch.id}:quarantine`, batch.id)
        this.#metrics.rowsWritten.inc({ table: 'events_quarantine' }, quarantine.length - rejected.length)
        if (rejected.length > 0) {
          this.#metrics.rowsFailed.inc({ table: 'events_quarantine' }, rejected.length)
          this.#logger.error({ batch_id: batch.id, rows: rejected.length, reason: rejected[0]?.message }, 'ClickHouse rejected quarantine rows; they are dropped')
        }
      }
    } finally {
      this.#metrics.pendingRows.dec(batch.items.length)
    }
    this.#metrics.batches.inc({ result: 'stored' })
    this.#metrics.batchSize.observe(batch.items.length)
    this.#metrics.flushDuration.observe((performance.now() - started) / 1000)
    this.#logger.debug({ batch_id: batch.id, events: events.length, quarantine: quarantine.length, duration_ms: Math.round(performance.now() - started) }, 'batch stored')
  }

  /** Inserts rows, splitting on row-data errors; returns the rows ClickHouse refused. */
  async #insertNarrowing(table: TargetTable, rows: readonly object[], token: string, batchId: string): Promise<RejectedRow[]> {
    const outcome = await this.#attempt(table, rows, token, batchId)
    if (outcome === undefined) return []
    if (rows.length === 1) return [{ row: rows[0] as object, message: outcome }]
    const middle = Math.ceil(rows.length / 2)
    this.#logger.warn({ batch_id: batchId, table, rows: rows.length, reason: outcome }, 'ClickHouse rejected rows of a batch; splitting it to find them')
    const left = await this.#insertNarrowing(table, rows.slice(0, middle), `${token}/0`, batchId)
    const right = await this.#insertNarrowing(table, rows.slice(middle), `${token}/1`, batchId)
    return [...left, ...right]
  }

  async #insertRetrying(table: TargetTable, rows: readonly object[], token: string, batchId: string): Promise<void> {
    const outcome = await this.#attempt(table, rows, token, batchId)
    if (outcome !== undefined) {
      this.#logger.error({ batch_id: batchId, table, rows: rows.length, reason: outcome }, 'ClickHouse rejected quarantine rows; they are dropped')
    }
  }

  /**
   * Tries an insert until it succeeds or fails for its rows; returns undefined
   * on success and the server's message on a row-data error.
   */
  async #attempt(table: TargetTable, rows: readonly object[], token: string, batchId: string): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (this.#stop.signal.aborted) throw new WriterStopped()
      try {
        // The stop signal ends an insert that hangs on an unreachable server,
        // so stop() keeps to shutdown_wait; the batch stays in the queue.
        await this.#sink.insert(table, rows, token, this.#stop.signal)
        if (this.#failuresInARow > 0) {
          this.#logger.info({ batch_id: batchId, table, attempts: attempt + 1 }, 'ClickHouse insert succeeded after retries')
        }
        this.#failuresInARow = 0
        return undefined
      } catch (err) {
        if (this.#stop.signal.aborted) throw new WriterStopped()
        const problem = classifyInsertError(err)
        if (problem.kind === 'row_data') return problem.message
        this.#failuresInARow++
        this.#metrics.retries.inc({ reason: problem.reason })
        const delay = backoffDelay(attempt, { initialMs: this.#config.retry_initial_delay, maxMs: this.#config.retry_max_delay })
        // Log the first failure and then every tenth, so an outage does not flood the log.
        if (attempt % 10 === 0) {
          this.#logger.warn({ batch_id: batchId, table, rows: rows.length, attempt: attempt + 1, retry_in_ms: delay, reason: problem.reason, err: problem.message }, 'ClickHouse insert failed; retrying')
        }
        await this.#sleep(delay)
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#stop.signal
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new WriterStopped())
        return
      }
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(new WriterStopped())
      }
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/**
 * Builds the quarantine row for an event ClickHouse refused. Its id and time
 * derive from the event, so a replayed batch produces the same row and the
 * deduplication token keeps it single.
 */
function rejectedToQuarantine(entry: RejectedRow, batchId: string): QuarantineRow {
  const row = entry.row as Partial<EventRow>
  const raw = JSON.stringify(entry.row)
  const digest = createHash('sha256').update(batchId).update(raw).digest('hex')
  const quarantineId = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-8${digest.slice(17, 20)}-${digest.slice(20, 32)}`
  return {
    quarantine_id: quarantineId,
    quarantined_at: typeof row.received_at === 'string' ? row.received_at : '1970-01-01 00:00:00.000000',
    tenant_id: typeof row.tenant_id === 'string' ? row.tenant_id : 'default',
    raw_event: raw,
    source_ip: '',
    source_format: 'json',
    validation_errors: [`(event): ClickHouse refused the row: ${entry.message}`],
    error_code: 'storage_rejected',
  }
}
