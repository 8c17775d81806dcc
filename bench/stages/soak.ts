import type { RunContext, RunningServer } from '../context.js'
import { runSql } from '../support/http.js'
import { prepareLoad } from '../support/load.js'
import { DRAIN_CAP_MS, quietPeriodMs } from '../support/drain.js'
import { CountPoller } from '../support/poll.js'
import { MemoryProbe, type MemorySample } from '../support/memory-probe.js'
import { ResourceMeter, type RssSample } from '../support/resource-meter.js'
import { linearSlope, round, summarize, type Distribution } from '../support/stats.js'

export interface SoakResult {
  duration_s: number
  events_per_s: number
  /** Accepted events over the planned duration, or over the sending time when that was longer. */
  achieved_events_per_s: number
  /** Seconds from the first send to the last acknowledgement; longer than duration_s when the server fell behind. */
  send_s: number
  late_sends: number
  warm_up_s: number
  /** Least-squares slope of RSS after warm-up. */
  rss_slope_mib_per_min: number
  /** The slope over ten minutes, the span the target is stated for. */
  rss_growth_mib_per_10_min: number
  /** Last RSS sample after warm-up minus the first. */
  rss_observed_growth_mib: number
  rss_after_warm_up_mib: { first: number; last: number; max: number }
  ack_ms: Distribution
  accepted_events: number
  /** Seconds from the last acknowledgement until every accepted event was stored; undefined when some never were. */
  stored_after_s: number | undefined
  stored_events: number
  lost_events: number
  sampled_ids: number
  sampled_ids_missing: number
  missing_id_examples: string[]
  refused_answers: number
  failed_requests: number
  server_cpu_seconds: number
  /** CPU seconds of processes outside the benchmark while the soak ran. */
  other_cpu_seconds: number
  elapsed_s: number
  /** RSS over the whole soak, one sample every 10 s. */
  rss_mib_over_time: Array<{ t: number; mib: number }>
  /** RSS by part every 10 s: V8 heap, memory outside the heap, the engine's tracker and its parts. */
  memory_over_time: MemorySample[]
}

const MIB = 2 ** 20

/** Sends at a steady rate for the soak duration, watches RSS, then checks every accepted event was stored. */
export async function runSoak(context: RunContext, server: RunningServer): Promise<SoakResult> {
  const { soakSeconds, soakRate } = context.options
  const prefix = 'soak-'
  const load = await prepareLoad({
    url: server.process.url,
    keys: context.ingestKeys,
    mode: 'rate',
    eventsPerSecond: soakRate,
    durationMs: soakSeconds * 1000,
    concurrency: 64,
    batchSize: 500,
    tagPrefix: prefix,
    seed: 4,
    poolBatches: 64,
    sampleSize: 1000,
    recordAcks: false,
  })
  context.progress(`soak: ${soakRate} events/s for ${soakSeconds} s`)
  const meter = new ResourceMeter(server.process.pid)
  const probe = new MemoryProbe(server, context.adminKey, (sample) => {
    if (sample.t % 60 < 10) {
      context.progress(
        `soak memory at ${Math.round(sample.t)} s: RSS ${sample.rss_mib} MiB, V8 heap ${sample.heap_used_mib} of ${sample.heap_total_mib} MiB ${JSON.stringify(sample.heap_space_total_mib)}, ` +
          `outside it ${sample.external_mib} MiB, ClickHouse ${sample.clickhouse_tracked_mib} MiB, parts ${sample.active_parts} active ${sample.outdated_parts} outdated`,
      )
    }
  })
  const report = await load.start()
  const countQuery = `SELECT count() AS n FROM events WHERE startsWith(source_instance_id, '${prefix}')`
  const poller = new CountPoller(server, context.adminKey, countQuery, 500)
  poller.start()
  const allStored = await poller.waitFor(report.acceptedEvents, quietPeriodMs(), DRAIN_CAP_MS)
  await poller.stop()
  const resources = meter.stop()
  const memory = probe.stop()
  const stored = poller.latest?.count ?? 0
  const drainS = allStored === undefined ? undefined : round((allStored.atMs - report.finishedAtMs) / 1000, 1)

  const missing = await missingIds(context, server, report.sampleIds)
  // Warm-up: the first 10 % of the soak, at least 30 s when the soak is long enough.
  const warmUp = Math.min(Math.max(30, soakSeconds * 0.1), soakSeconds / 2)
  // RSS counts while events were still being sent; a server that fell behind sends longer than planned.
  const sendS = (report.finishedAtMs - report.startedAtMs) / 1000
  const steady = resources.rss_samples.filter((sample) => sample.t >= warmUp && sample.t <= Math.max(soakSeconds, sendS))
  const slopePerSecond = linearSlope(steady.map((sample) => ({ x: sample.t, y: sample.bytes / MIB })))
  const steadyMib = steady.map((sample) => sample.bytes / MIB)
  const result: SoakResult = {
    duration_s: soakSeconds,
    events_per_s: soakRate,
    // The planned duration is the floor: the last request goes out one interval before it ends.
    achieved_events_per_s: Math.round(report.acceptedEvents / Math.max(soakSeconds, sendS)),
    send_s: round(sendS, 1),
    late_sends: report.lateSends,
    warm_up_s: round(warmUp),
    rss_slope_mib_per_min: round(slopePerSecond * 60, 3),
    rss_growth_mib_per_10_min: round(slopePerSecond * 600, 1),
    rss_observed_growth_mib: round((steadyMib[steadyMib.length - 1] ?? Number.NaN) - (steadyMib[0] ?? Number.NaN), 1),
    rss_after_warm_up_mib: {
      first: round(steadyMib[0] ?? Number.NaN, 1),
      last: round(steadyMib[steadyMib.length - 1] ?? Number.NaN, 1),
      max: round(Math.max(...steadyMib), 1),
    },
    ack_ms: summarize(report.ackLatenciesMs),
    accepted_events: report.acceptedEvents,
    stored_after_s: drainS === undefined ? undefined : Math.max(0, drainS),
    stored_events: stored,
    lost_events: Math.max(0, report.acceptedEvents - stored),
    sampled_ids: report.sampleIds.length,
    sampled_ids_missing: missing.length,
    missing_id_examples: missing.slice(0, 10),
    refused_answers: report.refusedAnswers,
    failed_requests: report.failedRequests,
    server_cpu_seconds: resources.server_cpu_seconds,
    other_cpu_seconds: ResourceMeter.otherCpuSeconds(resources, report.cpuSeconds),
    elapsed_s: resources.elapsed_s,
    rss_mib_over_time: everyTenSeconds(resources.rss_samples),
    memory_over_time: memory,
  }
  context.progress(
    `soak: RSS slope ${result.rss_slope_mib_per_min} MiB/min, ${result.stored_events} of ${result.accepted_events} events stored, ` +
      `${result.sampled_ids_missing} of ${result.sampled_ids} sampled ids missing`,
  )
  return result
}

async function missingIds(context: RunContext, server: RunningServer, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const list = ids.map((id) => `'${id}'`).join(',')
  const result = await runSql<{ id: string }>(
    server.http,
    `SELECT toString(event_id) AS id FROM events WHERE event_id IN (${list})`,
    context.adminKey,
  )
  const found = new Set(result.rows.map((row) => row.id))
  return ids.filter((id) => !found.has(id))
}

function everyTenSeconds(samples: readonly RssSample[]): Array<{ t: number; mib: number }> {
  const kept: Array<{ t: number; mib: number }> = []
  let next = 0
  for (const sample of samples) {
    if (sample.t >= next) {
      kept.push({ t: sample.t, mib: round(sample.bytes / MIB, 1) })
      next += 10
    }
  }
  return kept
}
