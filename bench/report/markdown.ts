import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { CefResult } from '../stages/cef.js'
import type { CeilingResult } from '../stages/ceiling.js'
import type { EndToEndResult } from '../stages/end-to-end.js'
import type { FixedRateResult } from '../stages/fixed-rate.js'
import type { QueriesResult } from '../stages/queries.js'
import type { SoakResult } from '../stages/soak.js'
import type { StorageResult } from '../stages/storage.js'
import type { MemorySample } from '../support/memory-probe.js'
import type { ProfileSummary } from './profile.js'
import type { BenchResults, StageOutcome, TargetCheck } from './results.js'

/** Line of BENCHMARKS.md after which each run inserts its section, so the newest run comes first. */
export const RUNS_MARKER = '<!-- bench runs: newest first, inserted below this line by npm run bench -->'

const MIB = 2 ** 20
const GIB = 2 ** 30

function n(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a'
  return value.toLocaleString('en-US', { maximumFractionDigits: digits })
}

function mib(bytes: number): string {
  return `${n(bytes / MIB, 1)} MiB`
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`)
  return lines.join('\n')
}

function verdict(check: TargetCheck): string {
  if (check.met === null) return 'not measured'
  return check.met ? 'met' : `**missed**, ${check.miss}`
}

function stage<T>(outcome: StageOutcome<T>, render: (figures: T) => string): string {
  if (outcome.status === 'skipped') return `Skipped: ${outcome.reason}.`
  if (outcome.status === 'error') return `Failed: \`${outcome.error.split('\n')[0]}\``
  return render(outcome.figures)
}

function ceilingSection(ceiling: CeilingResult): string {
  return table(
    ['figure', 'value'],
    [
      ['pre-serialized JSONEachRow into `events` (the ceiling)', `${n(ceiling.rows_per_s)} rows/s`],
      ...ceiling.samples.map((sample): [string, string] => [
        `sample ${sample.when}`,
        `${n(sample.rows_per_s)} rows/s, ${n(sample.cpu_seconds, 1)} CPU s over ${n(sample.seconds, 1)} s`,
      ]),
      ['insert statement time p50 / p99', `${n(ceiling.insert_ms.p50, 1)} / ${n(ceiling.insert_ms.p99, 1)} ms`],
      ['same rows as objects through ClickHouseRowSink', `${n(ceiling.row_sink_rows_per_s)} rows/s`],
      [`pre-serialized, batches of ${n(ceiling.large_batch_size)} rows`, `${n(ceiling.large_batch_rows_per_s)} rows/s`],
      ['batch size, inserts in flight', `${ceiling.batch_size}, ${ceiling.concurrency}`],
      ['JSONEachRow bytes per row', n(ceiling.json_bytes_per_row)],
      ['rows inserted, seconds', `${n(ceiling.rows)}, ${n(ceiling.seconds, 1)}`],
    ],
  )
}

function endToEndSection(result: EndToEndResult, ceiling: CeilingResult | undefined): string {
  const ratio = ceiling === undefined ? 'n/a' : `${n(result.committed_events_per_s / ceiling.rows_per_s, 2)} × ceiling`
  const r = result.resources
  return table(
    ['figure', 'value'],
    [
      ['committed events/s (all accepted rows visible, from first send)', `**${n(result.committed_events_per_s)}** (${ratio})`],
      ['accepted events/s during the send window', n(result.accepted_events_per_s)],
      ['rows visible by the end of the send window, per s', n(result.visible_during_run_per_s)],
      ['all accepted rows visible after', `${n(result.all_visible_after_s, 1)} s (sending lasted ${result.duration_s} s)`],
      ['acknowledgement p50 / p99 / max', `${n(result.ack_ms.p50, 1)} / ${n(result.ack_ms.p99, 1)} / ${n(result.ack_ms.max, 1)} ms`],
      ['requests in flight, events a request', `${result.concurrency}, ${result.batch_events}`],
      ['429/503 answers, failed requests', `${n(result.refused_answers)}, ${n(result.failed_requests)}`],
      ['writer inserts, rows an insert on average', `${n(result.writer_batches)}, ${n(result.writer_mean_batch_rows)}`],
      ['server CPU', `${n(r.server_cpu_seconds, 1)} s over ${n(r.elapsed_s, 1)} s (${n(r.server_cores, 2)} cores)`],
      ['server peak RSS', `${mib(r.server_peak_rss_bytes)}${r.peak_rss_is_stage_peak ? '' : ' (since process start)'}`],
      ['load generator CPU; other processes CPU', `${n(result.load_generator_cpu_seconds, 1)} s; ${n(result.other_cpu_seconds, 1)} s`],
    ],
  )
}

function fixedRateSection(rates: FixedRateResult[]): string {
  return table(
    ['target events/s', 'achieved', 'ack p50 / p99 / max ms', 'visibility p50 / p99 / max ms', 'event-loop lag p99 / max ms', 'never visible', 'late sends', 'server cores'],
    rates.map((rate) => [
      n(rate.target_events_per_s),
      n(rate.achieved_events_per_s),
      `${n(rate.ack_ms.p50, 1)} / ${n(rate.ack_ms.p99, 1)} / ${n(rate.ack_ms.max, 1)}`,
      `${n(rate.visibility_ms.p50)} / ${n(rate.visibility_ms.p99)} / ${n(rate.visibility_ms.max)}`,
      `${n(rate.event_loop_lag_ms.p99, 1)} / ${n(rate.event_loop_lag_ms.max, 1)}`,
      n(rate.requests_never_visible),
      n(rate.late_sends),
      n(rate.resources.server_cores, 2),
    ]),
  )
}

function soakSection(soak: SoakResult): string {
  return table(
    ['figure', 'value'],
    [
      ['planned rate, duration, warm-up', `${n(soak.events_per_s)} events/s, ${soak.duration_s} s, ${soak.warm_up_s} s`],
      [
        'achieved rate',
        `${n(soak.achieved_events_per_s)} events/s: sending took ${n(soak.send_s, 0)} s, ${n(soak.late_sends)} requests sent more than 10 ms late`,
      ],
      ['RSS slope after warm-up', `${n(soak.rss_slope_mib_per_min, 3)} MiB/min (${n(soak.rss_growth_mib_per_10_min, 1)} MiB per 10 min)`],
      ['RSS after warm-up: first / last / max', `${n(soak.rss_after_warm_up_mib.first, 1)} / ${n(soak.rss_after_warm_up_mib.last, 1)} / ${n(soak.rss_after_warm_up_mib.max, 1)} MiB`],
      ['events accepted / stored / not stored', `${n(soak.accepted_events)} / ${n(soak.stored_events)} / ${n(soak.lost_events)}`],
      [
        'all stored after the last acknowledgement',
        soak.stored_after_s === undefined ? 'never: the count stopped growing before it reached the accepted events' : `${n(soak.stored_after_s, 1)} s`,
      ],
      ['sampled ids missing', `${soak.sampled_ids_missing} of ${soak.sampled_ids}`],
      ['acknowledgement p99', `${n(soak.ack_ms.p99, 1)} ms`],
    ],
  ) + memoryTable(soak)
}

/** RSS by part at the first reading after warm-up and at the last one. */
function memoryTable(soak: SoakResult): string {
  const after = soak.memory_over_time.filter((sample) => sample.t >= soak.warm_up_s)
  const first = after[0]
  const last = after[after.length - 1]
  if (first === undefined || last === undefined || first === last) return ''
  const row = (label: string, pick: (sample: MemorySample) => number, unit = ' MiB'): string[] => {
    const grown = pick(last) - pick(first)
    return [label, `${n(pick(first), 1)}${unit}`, `${n(pick(last), 1)}${unit}`, `${grown >= 0 ? '+' : ''}${n(grown, 1)}${unit}`]
  }
  return (
    '\n\n' +
    table(
      ['memory by part', `at ${n(first.t, 0)} s`, `at ${n(last.t, 0)} s`, 'change'],
      [
        row('RSS', (sample) => sample.rss_mib),
        row('V8 heap used', (sample) => sample.heap_used_mib),
        row('V8 heap reserved', (sample) => sample.heap_total_mib),
        row('outside the V8 heap (Buffers)', (sample) => sample.external_mib),
        row('ClickHouse memory tracker', (sample) => sample.clickhouse_tracked_mib),
        row('active / outdated parts', (sample) => sample.active_parts + sample.outdated_parts, ''),
      ],
    )
  )
}

function cefSection(cef: CefResult): string {
  if (cef.status === 'skipped') return `Skipped: ${cef.reason}.`
  const rows: string[][] = []
  if ('skipped' in cef.udp) rows.push(['UDP', cef.udp.skipped])
  else {
    rows.push([
      `UDP at ${n(cef.udp.target_messages_per_s)} messages/s for ${cef.udp.duration_s} s`,
      `${n(cef.udp.stored)} of ${n(cef.udp.sent)} stored: **${n(cef.udp.loss_percent, 3)} % loss** (sent at ${n(cef.udp.send_rate_per_s)}/s)`,
    ])
  }
  if ('skipped' in cef.tcp) rows.push(['TCP', cef.tcp.skipped])
  else {
    rows.push([
      `TCP, ${n(cef.tcp.sent)} messages at maximum`,
      `**${n(cef.tcp.committed_messages_per_s)} committed messages/s**; read at ${n(cef.tcp.send_rate_per_s)}/s; ${n(cef.tcp.stored)} stored`,
    ])
  }
  return table(['run', 'result'], rows)
}

function queriesSection(queries: QueriesResult): string {
  const intro =
    `${n(queries.events)} events over ${queries.span_hours} h, ${queries.tenants} tenants, built in ${n(queries.dataset_build_seconds, 1)} s ` +
    `(${n(queries.dataset_rows_per_s)} rows/s by INSERT … SELECT). Each query ran once uncounted, then ${queries.repeats} times, ` +
    `with tenant and search value varied. Times are client round trips. Path: ${queries.via_note}. ` +
    `Stored, the data set takes ${n(queries.dataset_events_bytes_per_event, 1)} bytes an event in \`events\` column data; ` +
    `against the ${n(queries.model_json_bytes_per_event)} bytes of JSON such an event is when posted, everything on disk gives ` +
    `${n(queries.dataset_compression_ratio, 1)}× (no value repeats in it, unlike the HTTP load's request pool).`
  return (
    intro +
    '\n\n' +
    table(
      ['query', 'what', 'first ms', 'p50 ms', 'p95 ms', 'target p95', 'rows'],
      queries.queries.map((query) => [
        query.name,
        query.description,
        n(query.first_ms, 1),
        n(query.ms.p50, 1),
        n(query.ms.p95, 1),
        `${n(query.target_p95_ms)} ms`,
        query.answered_from === undefined ? n(query.rows) : `${n(query.rows)} (from ${query.answered_from})`,
      ]),
    )
  )
}

function storageSection(storage: StorageResult): string {
  const tables = table(
    ['table', 'rows', 'parts', 'compressed', 'uncompressed', 'indexes and marks'],
    storage.tables.map((entry) => [
      entry.table,
      n(entry.rows),
      n(entry.parts),
      mib(entry.compressed_bytes),
      mib(entry.uncompressed_bytes),
      mib(entry.index_and_marks_bytes),
    ]),
  )
  const columns = storage.largest_columns.map((column) => `${column.column} ${mib(column.compressed_bytes)}`).join(', ')
  return (
    `JSON received: ${mib(storage.json_bytes_received)} for ${n(storage.events_rows)} events. ` +
    `Ratio: **${n(storage.events_ratio, 1)}×** against the \`events\` column data, **${n(storage.total_ratio, 1)}×** against everything stored ` +
    `(${n(storage.compressed_bytes_per_event, 1)} compressed bytes an event). Largest columns: ${columns}.\n\n` +
    tables
  )
}

function profileSection(profile: ProfileSummary): string {
  const describe = (entry: ProfileSummary['top_self'][number]): string => {
    const line = entry.hottest_line === undefined ? '' : ` (${entry.hottest_line.percent} % on line ${entry.hottest_line.line})`
    return `${entry.percent} % \`${entry.name}\`${line}`
  }
  const list = (entries: ProfileSummary['top_self']): string => entries.slice(0, 12).map(describe).join('; ')
  return [
    `Main thread busy ${profile.busy_percent} % of ${profile.duration_s} s; shares below are of the busy samples. ` +
      'Self time includes callees that V8 inlined, and a hottest line can then be a line of the inlined callee in its own file.',
    '',
    `- By module: ${list(profile.by_module)}`,
    `- Self time: ${list(profile.top_self)}`,
    `- Project functions, inclusive: ${list(profile.top_inclusive_project)}`,
  ].join('\n')
}

/** Renders one run as a BENCHMARKS.md section. */
export function renderRunSection(results: BenchResults): string {
  const machine = results.machine
  const ceiling = results.stages.ceiling.status === 'ok' ? results.stages.ceiling.figures : undefined
  const other =
    results.other_load_cores >= 0.1
      ? `Other processes on the machine used on average ${n(results.other_load_cores, 2)} of its ${machine.cores} cores while the stages ran, so the figures are lower than on an idle machine.`
      : 'The machine was otherwise idle (other processes used under 0.1 core on average).'
  const lines = [
    `## ${results.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}: ${results.mode} run`,
    '',
    `- Command: \`${results.command}\` (${n(results.duration_s)} s)`,
    `- Machine: ${machine.cores} cores (${machine.cpu_model}), ${n(machine.memory_bytes / GIB, 1)} GiB memory, ${machine.os}`,
    `- Node ${machine.node}; ClickHouse engine ${machine.engine_version} embedded through chdb ${machine.chdb_version} and @clickhouse/client ${machine.clickhouse_client_version}`,
    `- Server: default configuration (ack mode ${results.server.ack_mode}, ${results.server.queue_type} queue, writer batch ${results.server.writer_batch_size}, ` +
      `flush interval ${results.server.writer_flush_interval_ms} ms, ${results.server.writer_concurrency} inserts in flight, ${results.server.insert_format}), ` +
      'plus API keys for three tenants and an admin, CEF listeners on free ports, and no query rate limit',
    `- Load: ${other}`,
    ...(results.profiles.length === 0 ? [] : ['- Profiling: the servers ran under `node --cpu-prof`, whose sampling costs them a few percent of CPU.']),
    ...(results.note === undefined ? [] : [`- Note: ${results.note}`]),
    '',
    '### Targets',
    '',
    table(
      ['target', 'required', 'measured', 'result'],
      results.targets.map((check) => [check.description, check.target, check.actual, verdict(check)]),
    ),
    '',
    '### 1. Ceiling: the engine alone',
    '',
    stage(results.stages.ceiling, ceilingSection),
    '',
    '### 2. End to end at maximum rate',
    '',
    stage(results.stages.end_to_end, (figures) => endToEndSection(figures, ceiling)),
    '',
    '### 3. Fixed rates',
    '',
    stage(results.stages.fixed_rates, fixedRateSection),
    '',
    '### 4. Soak',
    '',
    stage(results.stages.soak, soakSection),
    '',
    '### 5. CEF',
    '',
    stage(results.stages.cef, cefSection),
    '',
    '### 6. Queries',
    '',
    stage(results.stages.queries, queriesSection),
    '',
    '### 7. Storage',
    '',
    stage(results.stages.storage, storageSection),
    '',
  ]
  for (const { server, summary } of results.profiles) lines.push(`### CPU profile of the ${server} server`, '', profileSection(summary), '')
  return lines.join('\n')
}

const NEW_FILE_HEADER = `# Benchmarks

Figures from \`npm run bench\`; each run adds a section below.

${RUNS_MARKER}
`

/** Inserts the run's section below the marker of BENCHMARKS.md (created when missing), newest first. */
export function recordRun(path: string, results: BenchResults): void {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : NEW_FILE_HEADER
  const section = renderRunSection(results)
  const index = current.indexOf(RUNS_MARKER)
  const updated =
    index === -1
      ? `${current.trimEnd()}\n\n${RUNS_MARKER}\n\n${section}`
      : `${current.slice(0, index + RUNS_MARKER.length)}\n\n${section}\n${current.slice(index + RUNS_MARKER.length).replace(/^\n+/, '')}`
  writeFileSync(path, updated)
}
