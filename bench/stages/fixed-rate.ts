import type { RunContext, RunningServer } from '../context.js'
import { DRAIN_CAP_MS, quietPeriodMs } from '../support/drain.js'
import { runSql } from '../support/http.js'
import { prepareLoad } from '../support/load.js'
import { prometheusTotal } from '../support/prometheus-text.js'
import { ResourceMeter, type ResourceUse } from '../support/resource-meter.js'
import { round, summarize, type Distribution } from '../support/stats.js'
import type { LoadReport } from '../workers/protocol.js'

export interface FixedRateResult {
  target_events_per_s: number
  duration_s: number
  accepted_events: number
  achieved_events_per_s: number
  /** From each request's scheduled send time, so a late send counts against the server too. */
  ack_ms: Distribution
  /** From a request's acknowledgement until all its rows were visible to a query. */
  visibility_ms: Distribution
  /** Interval of the visibility queries. Each delay is measured to within about this much. */
  visibility_poll_ms: number
  requests_never_visible: number
  late_sends: number
  refused_answers: number
  failed_requests: number
  failure_samples: string[]
  load_generator_cpu_seconds: number
  other_cpu_seconds: number
  resources: Omit<ResourceUse, 'rss_samples'>
  /** The server's event-loop delay over the stage (prom-client, 10 ms resolution), to tell a blocked main thread from queueing. */
  event_loop_lag_ms: { p99: number; max: number }
}

// Each visibility query reads the tag of every row the stage stored, so polling
// more often takes CPU from the server it measures (BENCHMARKS.md, fixed rates).
const VISIBILITY_POLL_MS = 500
const BATCH_EVENTS = 500

/**
 * Polls for requests whose rows are all visible: every event of request n
 * carries source.instance_id `${prefix}${n}`, so one GROUP BY per poll
 * returns the complete requests.
 */
class VisibilityTracker {
  readonly firstSeenMs = new Map<number, number>()
  readonly #server: RunningServer
  readonly #adminKey: string
  readonly #prefix: string
  #stopped = false
  #loop: Promise<void> | undefined

  constructor(server: RunningServer, adminKey: string, prefix: string) {
    this.#server = server
    this.#adminKey = adminKey
    this.#prefix = prefix
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#loop
  }

  /** Waits until every sequence is visible, or no new one became visible for `quietMs`, or `capMs` passed. */
  async waitForAll(sequences: readonly number[], quietMs: number, capMs: number): Promise<void> {
    const deadline = Date.now() + capMs
    let seen = this.firstSeenMs.size
    let grewAt = Date.now()
    while (Date.now() < deadline && Date.now() - grewAt < quietMs && sequences.some((sequence) => !this.firstSeenMs.has(sequence))) {
      await new Promise((resolve) => setTimeout(resolve, VISIBILITY_POLL_MS))
      if (this.firstSeenMs.size > seen) {
        seen = this.firstSeenMs.size
        grewAt = Date.now()
      }
    }
  }

  async #run(): Promise<void> {
    const query =
      `SELECT toUInt32(substring(source_instance_id, ${this.#prefix.length + 1})) AS n FROM events ` +
      `WHERE startsWith(source_instance_id, '${this.#prefix}') GROUP BY source_instance_id HAVING count() >= ${BATCH_EVENTS}`
    while (!this.#stopped) {
      const atMs = Date.now()
      try {
        const result = await runSql<{ n: number }>(this.#server.http, query, this.#adminKey)
        for (const row of result.rows) {
          const sequence = Number(row.n)
          if (!this.firstSeenMs.has(sequence)) this.firstSeenMs.set(sequence, atMs)
        }
      } catch {
        // A failed poll only coarsens the delays; the next one catches up.
      }
      const wait = atMs + VISIBILITY_POLL_MS - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}

/** Sends at a fixed rate for the configured time and measures acknowledgement and visibility delays. */
export async function runFixedRate(context: RunContext, server: RunningServer, eventsPerSecond: number): Promise<FixedRateResult> {
  const durationS = context.options.rateSeconds
  const prefix = `rate${eventsPerSecond}-`
  const load = await prepareLoad({
    url: server.process.url,
    keys: context.ingestKeys,
    mode: 'rate',
    eventsPerSecond,
    durationMs: durationS * 1000,
    concurrency: 64,
    batchSize: BATCH_EVENTS,
    tagPrefix: prefix,
    seed: 3 + eventsPerSecond,
    poolBatches: 64,
    sampleSize: 0,
    recordAcks: true,
  })
  context.progress(`fixed rate: ${eventsPerSecond} events/s for ${durationS} s`)
  const tracker = new VisibilityTracker(server, context.adminKey, prefix)
  const meter = new ResourceMeter(server.process.pid)
  // prom-client resets its event-loop histogram at every read, so this read starts the stage's.
  await eventLoopLag(server)
  tracker.start()
  const report: LoadReport = await load.start()
  await tracker.waitForAll(
    report.acks.map(([sequence]) => sequence),
    quietPeriodMs(),
    DRAIN_CAP_MS,
  )
  await tracker.stop()
  const resources = meter.stop()
  const lag = await eventLoopLag(server)

  const delays: number[] = []
  let neverVisible = 0
  for (const [sequence, ackMs] of report.acks) {
    const seen = tracker.firstSeenMs.get(sequence)
    if (seen === undefined) neverVisible++
    // A request seen by a poll sent before its acknowledgement arrived was visible at once.
    else delays.push(Math.max(0, seen - ackMs))
  }
  const { rss_samples: _samples, ...resourceTotals } = resources
  const result: FixedRateResult = {
    target_events_per_s: eventsPerSecond,
    duration_s: durationS,
    accepted_events: report.acceptedEvents,
    achieved_events_per_s: Math.round(report.acceptedEvents / durationS),
    ack_ms: summarize(report.ackLatenciesMs),
    visibility_ms: summarize(delays),
    visibility_poll_ms: VISIBILITY_POLL_MS,
    requests_never_visible: neverVisible,
    late_sends: report.lateSends,
    refused_answers: report.refusedAnswers,
    failed_requests: report.failedRequests,
    failure_samples: report.failureSamples,
    load_generator_cpu_seconds: round(report.cpuSeconds),
    other_cpu_seconds: ResourceMeter.otherCpuSeconds(resources, report.cpuSeconds),
    resources: resourceTotals,
    event_loop_lag_ms: lag,
  }
  context.progress(
    `fixed rate ${eventsPerSecond}/s: ack p50 ${result.ack_ms.p50} p99 ${result.ack_ms.p99} max ${result.ack_ms.max} ms, visibility p50 ${result.visibility_ms.p50} ms p99 ${result.visibility_ms.p99} ms, ` +
      `event-loop lag p99 ${lag.p99} max ${lag.max} ms`,
  )
  return result
}

/** Reads the server's event-loop lag p99 and maximum since the last read, in ms. */
async function eventLoopLag(server: RunningServer): Promise<{ p99: number; max: number }> {
  const response = await server.http.send({ method: 'GET', path: '/metrics', timeoutMs: 10_000 })
  const ms = (name: string): number => round(prometheusTotal(response.body, name) * 1000, 1)
  return { p99: ms('nodejs_eventloop_lag_p99_seconds'), max: ms('nodejs_eventloop_lag_max_seconds') }
}
