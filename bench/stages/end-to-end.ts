import type { RunContext, RunningServer } from '../context.js'
import { prepareLoad } from '../support/load.js'
import { DRAIN_CAP_MS, quietPeriodMs } from '../support/drain.js'
import { CountPoller, type CountSample } from '../support/poll.js'
import { prometheusTotal } from '../support/prometheus-text.js'
import { ResourceMeter, type ResourceUse } from '../support/resource-meter.js'
import { round, summarize, type Distribution } from '../support/stats.js'

export interface EndToEndResult {
  duration_s: number
  concurrency: number
  batch_events: number
  /** Events accepted (HTTP 200) during the run. */
  accepted_events: number
  accepted_events_per_s: number
  /** Accepted events over the time from the first send until the last of them was visible in ClickHouse. */
  committed_events_per_s: number
  /** Seconds from the first send until every accepted event was visible; undefined when some never were. */
  all_visible_after_s: number | undefined
  /** Rows visible when the sending stopped, over the send duration. */
  visible_during_run_per_s: number
  ack_ms: Distribution
  refused_answers: number
  failed_requests: number
  failure_samples: string[]
  json_bytes: number
  load_generator_cpu_seconds: number
  /** CPU seconds of processes outside the benchmark (server, load generator, poller) while the stage ran. */
  other_cpu_seconds: number
  resources: Omit<ResourceUse, 'rss_samples'>
  /** Inserts the writer made, and their mean size in rows, from the server's siem_writer_batch_size histogram. */
  writer_batches: number
  writer_mean_batch_rows: number
  visible_rows_over_time: CountSample[]
}

/**
 * Posts batches of 500 events as fast as the server takes them, with a fixed
 * number of requests in flight, and measures when the rows become visible.
 * Runs on a fresh server, so `count()` of `events` counts this stage only.
 */
export async function runEndToEnd(context: RunContext, server: RunningServer): Promise<EndToEndResult> {
  const { options } = context
  const batchSize = 500
  const load = await prepareLoad({
    url: server.process.url,
    keys: context.ingestKeys,
    mode: 'max',
    eventsPerSecond: 0,
    durationMs: options.endToEndSeconds * 1000,
    concurrency: options.concurrency,
    batchSize,
    tagPrefix: 'e2e-',
    seed: 2,
    // Enough distinct events that raw lines repeat only every 100,000 events, which keeps compression honest.
    poolBatches: 200,
    sampleSize: 0,
    recordAcks: false,
  })
  context.progress(`end to end: ${options.endToEndSeconds} s at maximum rate, ${options.concurrency} requests in flight`)
  const poller = new CountPoller(server, context.adminKey, 'SELECT count() AS n FROM events', 250)
  const meter = new ResourceMeter(server.process.pid)
  poller.start()
  const report = await load.start()
  const sendEndedAt = Date.now()
  const allVisible = await poller.waitFor(report.acceptedEvents, quietPeriodMs(), DRAIN_CAP_MS)
  await poller.stop()
  const resources = meter.stop()
  const batches = await writerBatches(server)

  const durationS = options.endToEndSeconds
  const visibleAtEnd = [...poller.samples].reverse().find((sample) => sample.atMs <= sendEndedAt)?.count ?? 0
  const allVisibleAfterS = allVisible === undefined ? undefined : (allVisible.atMs - report.startedAtMs) / 1000
  const committedSeconds = allVisibleAfterS ?? (Date.now() - report.startedAtMs) / 1000
  const committed = allVisible === undefined ? (poller.latest?.count ?? 0) : report.acceptedEvents
  const { rss_samples: _samples, ...resourceTotals } = resources
  const result: EndToEndResult = {
    duration_s: durationS,
    concurrency: options.concurrency,
    batch_events: batchSize,
    accepted_events: report.acceptedEvents,
    accepted_events_per_s: Math.round(report.acceptedEvents / durationS),
    committed_events_per_s: Math.round(committed / committedSeconds),
    all_visible_after_s: allVisibleAfterS === undefined ? undefined : round(allVisibleAfterS),
    visible_during_run_per_s: Math.round(visibleAtEnd / durationS),
    ack_ms: summarize(report.ackLatenciesMs),
    refused_answers: report.refusedAnswers,
    failed_requests: report.failedRequests,
    failure_samples: report.failureSamples,
    json_bytes: report.acceptedBodyBytes,
    load_generator_cpu_seconds: round(report.cpuSeconds),
    other_cpu_seconds: ResourceMeter.otherCpuSeconds(resources, report.cpuSeconds),
    resources: resourceTotals,
    writer_batches: batches.count,
    writer_mean_batch_rows: batches.count === 0 ? 0 : Math.round(batches.rows / batches.count),
    visible_rows_over_time: poller.samples.filter((_, index) => index % 4 === 0),
  }
  context.progress(
    `end to end: ${result.committed_events_per_s} committed events/s, ack p99 ${result.ack_ms.p99} ms, ` +
      `server ${resources.server_cpu_seconds} CPU s, peak RSS ${Math.round(resources.server_peak_rss_bytes / 2 ** 20)} MiB, ` +
      `${result.writer_batches} inserts of ${result.writer_mean_batch_rows} rows on average`,
  )
  if (poller.errors > 0) context.progress(`end to end: ${poller.errors} count queries failed, last: ${poller.lastError}`)
  return result
}

/** Reads the count and row total of the writer's inserts from the server's /metrics. */
async function writerBatches(server: RunningServer): Promise<{ count: number; rows: number }> {
  const response = await server.http.send({ method: 'GET', path: '/metrics', timeoutMs: 10_000 })
  const count = prometheusTotal(response.body, 'siem_writer_batch_size_count')
  const rows = prometheusTotal(response.body, 'siem_writer_batch_size_sum')
  // A server that stored nothing has no samples yet.
  return { count: Number.isNaN(count) ? 0 : count, rows: Number.isNaN(rows) ? 0 : rows }
}
