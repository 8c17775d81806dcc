import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** Values the spool's gauges read when metrics are collected. */
export interface SpoolGaugeSource {
  bytes(): number
  segments(): number
  oldestUncommittedAgeSeconds(): number
  backlogEvents(): number
}

export interface SpoolMetrics {
  replayedBatches: Counter
  replayedEvents: Counter
  damagedRecords: Counter
  writeErrors: Counter
  fsyncDuration: Histogram
}

function unregister(registry: Registry, names: string[]): void {
  for (const name of names) registry.removeSingleMetric(name)
}

/**
 * Registers the `siem_spool_*` metrics on `registry`. A spool opened again
 * in the same process replaces the metrics of the previous one.
 */
export function createSpoolMetrics(registry: Registry, source: SpoolGaugeSource): SpoolMetrics {
  unregister(registry, [
    'siem_spool_bytes',
    'siem_spool_segments',
    'siem_spool_oldest_unacknowledged_age_seconds',
    'siem_spool_backlog_events',
    'siem_spool_replayed_batches_total',
    'siem_spool_replayed_events_total',
    'siem_spool_damaged_records_total',
    'siem_spool_write_errors_total',
    'siem_spool_fsync_duration_seconds',
  ])
  const registers = [registry]
  new Gauge({
    name: 'siem_spool_bytes',
    help: 'Bytes in spool segment files plus bytes waiting to be written.',
    registers,
    collect() {
      this.set(source.bytes())
    },
  })
  new Gauge({
    name: 'siem_spool_segments',
    help: 'Spool segment files on disk.',
    registers,
    collect() {
      this.set(source.segments())
    },
  })
  new Gauge({
    name: 'siem_spool_oldest_unacknowledged_age_seconds',
    help: 'Age of the oldest event in the spool not yet committed to ClickHouse; 0 when there is none.',
    registers,
    collect() {
      this.set(source.oldestUncommittedAgeSeconds())
    },
  })
  new Gauge({
    name: 'siem_spool_backlog_events',
    help: 'Events held only on disk because the in-memory bound (queue.max_events, queue.max_bytes) is reached.',
    registers,
    collect() {
      this.set(source.backlogEvents())
    },
  })
  return {
    replayedBatches: new Counter({
      name: 'siem_spool_replayed_batches_total',
      help: 'Batches handed out before this start and handed out again, with the same id, after it.',
      registers,
    }),
    replayedEvents: new Counter({
      name: 'siem_spool_replayed_events_total',
      help: 'Events read back from the spool at start-up.',
      registers,
    }),
    damagedRecords: new Counter({
      name: 'siem_spool_damaged_records_total',
      help: 'Damaged spool byte ranges (bad checksum, truncated or unreadable records) skipped at start-up.',
      registers,
    }),
    writeErrors: new Counter({
      name: 'siem_spool_write_errors_total',
      help: 'Failed spool writes (such as ENOSPC or EIO).',
      registers,
    }),
    fsyncDuration: new Histogram({
      name: 'siem_spool_fsync_duration_seconds',
      help: 'Duration of one group commit fdatasync of the spool.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
  }
}
