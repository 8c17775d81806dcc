import type { RunningServer } from '../context.js'
import { runSql } from './http.js'
import { rssBytes } from './proc-stats.js'
import { prometheusSamples, prometheusTotal } from './prometheus-text.js'
import { round } from './stats.js'

/** One reading of the server's memory by part, in MiB. */
export interface MemorySample {
  /** Seconds since the probe started. */
  t: number
  rss_mib: number
  /** V8 heap in use and reserved, from the server's own /metrics. */
  heap_used_mib: number
  heap_total_mib: number
  /** Memory that V8 objects use outside the heap, Buffers and typed arrays among them. */
  external_mib: number
  /** Reserved MiB of each V8 heap space that is not empty (old, new, large_object and so on). */
  heap_space_total_mib: Record<string, number>
  /** Memory counted by the embedded ClickHouse engine's tracker (MemoryTracking). */
  clickhouse_tracked_mib: number
  active_parts: number
  /** Parts merged into others but not yet deleted. Their index stays in memory until then. */
  outdated_parts: number
}

const MIB = 2 ** 20

/**
 * Reads the server's memory by part every `intervalMs`: RSS from /proc,
 * the V8 figures from /metrics and the engine's tracker and part counts
 * through /v1/sql. A growing RSS can then be put down to JavaScript or to
 * the engine.
 */
export class MemoryProbe {
  readonly samples: MemorySample[] = []
  readonly #server: RunningServer
  readonly #adminKey: string
  readonly #startedAt = performance.now()
  readonly #timer: NodeJS.Timeout
  #busy = false

  readonly #report: ((sample: MemorySample) => void) | undefined

  /** `report` is called with each reading as it is taken. */
  constructor(server: RunningServer, adminKey: string, report?: (sample: MemorySample) => void, intervalMs = 10_000) {
    this.#server = server
    this.#adminKey = adminKey
    this.#report = report
    void this.#sample()
    this.#timer = setInterval(() => void this.#sample(), intervalMs)
    this.#timer.unref()
  }

  async #sample(): Promise<void> {
    if (this.#busy) return
    this.#busy = true
    try {
      const t = round((performance.now() - this.#startedAt) / 1000)
      const [metrics, engine] = await Promise.all([
        this.#server.http.send({ method: 'GET', path: '/metrics', timeoutMs: 10_000 }),
        runSql<{ tracked: string; active: string; outdated: string }>(
          this.#server.http,
          "SELECT (SELECT value FROM system.metrics WHERE metric = 'MemoryTracking') AS tracked, " +
            "(SELECT count() FROM system.parts WHERE active) AS active, " +
            "(SELECT count() FROM system.parts WHERE NOT active) AS outdated",
          this.#adminKey,
        ),
      ])
      const spaces: Record<string, number> = {}
      for (const sample of prometheusSamples(metrics.body, 'nodejs_heap_space_size_total_bytes')) {
        if (sample.value > 0) spaces[sample.labels['space'] ?? ''] = round(sample.value / MIB, 1)
      }
      const mib = (name: string): number => round(prometheusTotal(metrics.body, name) / MIB, 1)
      const row = engine.rows[0]
      const sample: MemorySample = {
        t,
        rss_mib: round(rssBytes(this.#server.process.pid) / MIB, 1),
        heap_used_mib: mib('nodejs_heap_size_used_bytes'),
        heap_total_mib: mib('nodejs_heap_size_total_bytes'),
        external_mib: mib('nodejs_external_memory_bytes'),
        heap_space_total_mib: spaces,
        clickhouse_tracked_mib: round(Number(row?.tracked ?? Number.NaN) / MIB, 1),
        active_parts: Number(row?.active ?? Number.NaN),
        outdated_parts: Number(row?.outdated ?? Number.NaN),
      }
      this.samples.push(sample)
      this.#report?.(sample)
    } catch {
      // A busy or exiting server misses a reading, and the next one comes on schedule.
    } finally {
      this.#busy = false
    }
  }

  stop(): MemorySample[] {
    clearInterval(this.#timer)
    return this.samples
  }
}
