import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { EventQueue } from '../queue/types.js'

/** Ingest counters, labelled by source (`http`, `cef_udp`, `cef_tcp`) and reason (a validation or error code). */
export class IngestMetrics {
  readonly received: Counter<'source'>
  readonly accepted: Counter<'source'>
  readonly rejected: Counter<'source' | 'reason'>
  readonly quarantined: Counter<'source' | 'reason'>
  readonly duplicates: Counter<'source'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.received = new Counter({ name: 'siem_events_received_total', help: 'Events received, valid or not', labelNames: ['source'], registers })
    this.accepted = new Counter({ name: 'siem_events_accepted_total', help: 'Valid events accepted into the queue', labelNames: ['source'], registers })
    this.rejected = new Counter({
      name: 'siem_events_rejected_total',
      help: 'Events refused without being queued (queue full, request too large, unauthorized)',
      labelNames: ['source', 'reason'],
      registers,
    })
    this.quarantined = new Counter({
      name: 'siem_events_quarantined_total',
      help: 'Invalid events and bodies sent to the quarantine table',
      labelNames: ['source', 'reason'],
      registers,
    })
    this.duplicates = new Counter({
      name: 'siem_events_duplicates_skipped_total',
      help: 'Re-sent events skipped because their event_id was accepted within the dedup window',
      labelNames: ['source'],
      registers,
    })
  }
}

export class WriterMetrics {
  readonly rowsWritten: Counter<'table'>
  readonly rowsFailed: Counter<'table'>
  readonly batches: Counter<'result'>
  readonly retries: Counter<'reason'>
  readonly pendingRows: Gauge
  readonly flushDuration: Histogram
  readonly batchSize: Histogram

  constructor(registry: Registry) {
    const registers = [registry]
    this.rowsWritten = new Counter({ name: 'siem_writer_rows_written_total', help: 'Rows stored in ClickHouse', labelNames: ['table'], registers })
    this.rowsFailed = new Counter({
      name: 'siem_writer_rows_failed_total',
      help: 'Rows ClickHouse refused for their content, moved to quarantine as storage_rejected',
      labelNames: ['table'],
      registers,
    })
    this.batches = new Counter({ name: 'siem_writer_batches_total', help: 'Batches the writer finished', labelNames: ['result'], registers })
    this.retries = new Counter({ name: 'siem_writer_retries_total', help: 'Insert attempts retried after a retriable error', labelNames: ['reason'], registers })
    this.pendingRows = new Gauge({ name: 'siem_writer_pending_rows', help: 'Rows taken from the queue and not yet stored', registers })
    this.flushDuration = new Histogram({
      name: 'siem_writer_flush_duration_seconds',
      help: 'Time to store one batch, retries included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.batchSize = new Histogram({
      name: 'siem_writer_batch_size',
      help: 'Rows in each batch the writer stores',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    })
  }
}

/** Gauges read from the queue at scrape time. */
export function registerQueueGauges(registry: Registry, queue: EventQueue): void {
  const registers = [registry]
  new Gauge({
    name: 'siem_queue_depth_events',
    help: 'Events in the queue, including those being written',
    registers,
    collect() {
      this.set(queue.stats().depthEvents)
    },
  })
  new Gauge({
    name: 'siem_queue_depth_bytes',
    help: 'Estimated bytes of the events in the queue',
    registers,
    collect() {
      this.set(queue.stats().depthBytes)
    },
  })
  new Gauge({
    name: 'siem_queue_capacity_events',
    help: 'Queue capacity in events',
    registers,
    collect() {
      this.set(queue.stats().capacityEvents)
    },
  })
  new Gauge({
    name: 'siem_queue_capacity_bytes',
    help: 'Queue capacity in bytes',
    registers,
    collect() {
      this.set(queue.stats().capacityBytes)
    },
  })
  new Gauge({
    name: 'siem_queue_dropped_events',
    help: 'Events dropped by the drop_oldest overflow policy since start',
    registers,
    collect() {
      this.set(queue.stats().dropped)
    },
  })
}

/** Counts of the preparation worker pool. */
export interface PreparerStats {
  /** Bodies sent to a worker that has not replied yet, or waiting to be prepared again alone. */
  pendingBodies: number
  /** Workers that died since the start, each replaced by the next body. */
  workerFailures: number
}

/** Metrics of the preparation workers; with no workers they stay at 0. */
export class PreparerMetrics {
  readonly workerFailures: Counter
  #stats: () => PreparerStats = () => ({ pendingBodies: 0, workerFailures: 0 })

  constructor(registry: Registry) {
    const registers = [registry]
    const read = (): PreparerStats => this.#stats()
    new Gauge({
      name: 'siem_prepare_pending_bodies',
      help: 'HTTP bodies waiting for a preparation worker',
      registers,
      collect() {
        this.set(read().pendingBodies)
      },
    })
    this.workerFailures = new Counter({
      name: 'siem_prepare_worker_failures_total',
      help: 'Preparation workers that died',
      registers,
    })
  }

  /** Makes the pending-bodies gauge read from `stats` at each scrape. */
  readFrom(stats: () => PreparerStats): void {
    this.#stats = stats
  }
}
