/**
 * The long resilience run behind `npm run chaos`: kill -9 of the service
 * under load many times, then ClickHouse outages of `--seconds` each in
 * server mode. Prints every check with its figures and exits 1 when any
 * acknowledged event is lost, stored twice, or anything else fails.
 */
import { rm } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { startClickHouseStack } from '../resilience/support/clickhouse-stack.js'
import { describeDelivery, type DeliveryInput, type DeliveryReport } from '../resilience/support/id-sets.js'
import { runKillScenario } from '../resilience/support/kill-scenario.js'
import { runOutageScenario, type OutageFault } from '../resilience/support/outage-scenario.js'

const HELP = `usage: npm run chaos -- [options]

  --kills N            kill -9 rounds under load, each followed by a restart (default 24)
  --load-ms MIN-MAX    time from "listening" to each kill, in ms (default 300-2500)
  --startup-kills R    share of kills aimed at start-up, during spool replay (default 0.25)
  --seconds S          length of each ClickHouse outage, in seconds (default 30)
  --faults LIST        outages to run: blackhole, reset, kill (default blackhole,kill)
  --spool-max-bytes B  queue.spool.max_bytes during the outages (default 8388608)
  --phases LIST        kill, outage (default kill,outage)
  --keep               keep the kill run's data directory
  --help               show this help

Exits 0 when every check passed, 1 when any failed, 2 on a usage error.`

interface Options {
  kills: number
  loadMs: [number, number]
  startupKillShare: number
  outageSeconds: number
  faults: OutageFault[]
  spoolMaxBytes: number
  phases: Set<string>
  keep: boolean
}

let failures = 0

function print(line: string): void {
  process.stdout.write(`${line}\n`)
}

function check(name: string, passed: boolean, detail: string): void {
  if (!passed) failures++
  print(`  ${passed ? 'PASS' : 'FAIL'}  ${name}: ${detail}`)
}

function sample(ids: readonly unknown[]): string {
  return ids.length === 0 ? '' : ` (such as ${JSON.stringify(ids.slice(0, 3))})`
}

function checkDelivery(delivery: DeliveryInput, report: DeliveryReport): void {
  check('every acknowledged event_id is stored', report.lost.length === 0, `lost=${report.lost.length}${sample(report.lost)}`)
  check('no event_id stored twice', report.duplicated.length === 0, `duplicated=${report.duplicated.length}${sample(report.duplicated)}`)
  check('every stored event_id was sent', report.unknown.length === 0, `unknown=${report.unknown.length}${sample(report.unknown)}`)
  check('no rejected event_id stored', report.rejectedButStored.length === 0, `rejected_but_stored=${report.rejectedButStored.length}`)
  print(`        ${describeDelivery(delivery, report)}`)
}

async function runKills(options: Options): Promise<void> {
  print(`== kill -9 under load: ${options.kills} kills, ${options.loadMs[0]}-${options.loadMs[1]} ms of load each`)
  const result = await runKillScenario({
    kills: options.kills,
    loadMs: options.loadMs,
    startupKillShare: options.startupKillShare,
    progress: (line) => print(`  ${line}`),
  })
  try {
    check('service killed with SIGKILL each round', result.serviceProblems.length === 0, result.serviceProblems.join('; ') || `${result.kills} kills, ${result.startupKills} during start-up`)
    check('spool batches replayed after the kills', result.replayedBatches > 0, `replayed_batches=${result.replayedBatches}`)
    checkDelivery(result.delivery, result.report)
    check('requests cut off by a kill were sent again', result.resentEvents > 0, `resent=${result.resentEvents} skipped_as_kept=${result.resentDuplicates}`)
    check('GROUP BY event_id HAVING count() > 1 is empty', result.duplicateRows === 0, `rows=${result.duplicateRows}`)
    check('events_critical and events_hourly match events', result.derivedProblems.length === 0, result.derivedProblems.join('; ') || 'consistent')
    check('every response kept the API contract', result.anomalies.length === 0, result.anomalies.slice(0, 3).join('; ') || result.loadSummary)
  } finally {
    if (options.keep) print(`  data kept in ${result.workDir}`)
    else await rm(result.workDir, { recursive: true, force: true })
  }
}

async function runOutages(options: Options): Promise<void> {
  const stack = await startClickHouseStack()
  try {
    for (const fault of options.faults) {
      print(`== ClickHouse unreachable (${fault}) for ${options.outageSeconds} s in server mode, spool cap ${options.spoolMaxBytes} bytes`)
      const result = await runOutageScenario({
        stack,
        fault,
        outageMs: options.outageSeconds * 1000,
        spoolMaxBytes: options.spoolMaxBytes,
        product: `chaos_outage_${fault}`,
        progress: (line) => print(`  ${line}`),
      })
      checkDelivery(result.delivery, result.report)
      check('events_critical and events_hourly match events', result.derivedProblems.length === 0, result.derivedProblems.join('; ') || 'consistent')
      const early = result.rejections.filter((rejection) => rejection.at < result.outageStartedAt)
      const wrong = result.rejections.filter((rejection) => rejection.status !== 503 || rejection.code !== 'SIEM_ERR_SPOOL_FULL' || rejection.retryAfter === undefined)
      check('requests acknowledged during the outage until the cap', result.acknowledgedBeforeCap > 0, `acknowledged_before_cap=${result.acknowledgedBeforeCap}`)
      check('503s came once the spool cap was reached', result.rejections.length > 0 && early.length === 0 && wrong.length === 0,
        `rejections=${result.rejections.length} before_outage=${early.length} not_spool_full_503_with_retry_after=${wrong.length} spool_bytes_at_first_503=${result.spoolBytesAtFirstRejection}`)
      check('spool stayed within its cap', result.maxSpoolBytes <= options.spoolMaxBytes, `max_spool_bytes=${result.maxSpoolBytes}`)
      check('backlog drained after recovery', result.acknowledgedAfterRecovery > 0, `drain_ms=${result.drainMs} acknowledged_after_recovery=${result.acknowledgedAfterRecovery}`)
      check('service stopped cleanly', result.stopCode === 0, `exit code ${result.stopCode}`)
      check('every response kept the API contract', result.anomalies.length === 0, result.anomalies.slice(0, 3).join('; ') || result.loadSummary)
    }
  } finally {
    await stack.close()
  }
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      kills: { type: 'string', default: '24' },
      'load-ms': { type: 'string', default: '300-2500' },
      'startup-kills': { type: 'string', default: '0.25' },
      seconds: { type: 'string', default: '30' },
      faults: { type: 'string', default: 'blackhole,kill' },
      'spool-max-bytes': { type: 'string', default: String(8 * 1024 * 1024) },
      phases: { type: 'string', default: 'kill,outage' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) return undefined

  const [low, high] = values['load-ms'].split('-').map(Number)
  const faults = values.faults.split(',').filter((fault) => fault !== '') as OutageFault[]
  const options: Options = {
    kills: Number(values.kills),
    loadMs: [low ?? Number.NaN, high ?? low ?? Number.NaN],
    startupKillShare: Number(values['startup-kills']),
    outageSeconds: Number(values.seconds),
    faults,
    spoolMaxBytes: Number(values['spool-max-bytes']),
    phases: new Set(values.phases.split(',')),
    keep: values.keep,
  }

  const problems: string[] = []
  if (!Number.isInteger(options.kills) || options.kills < 1) problems.push(`--kills must be a whole number of at least 1; got ${values.kills}`)
  if (!options.loadMs.every(Number.isFinite) || options.loadMs[0] > options.loadMs[1]) problems.push(`--load-ms must be MIN-MAX in ms; got ${values['load-ms']}`)
  if (!(options.startupKillShare >= 0 && options.startupKillShare <= 1)) problems.push(`--startup-kills must be between 0 and 1; got ${values['startup-kills']}`)
  if (!(options.outageSeconds > 0)) problems.push(`--seconds must be a positive number; got ${values.seconds}`)
  if (!(options.spoolMaxBytes > 0)) problems.push(`--spool-max-bytes must be a positive number; got ${values['spool-max-bytes']}`)
  for (const fault of faults) if (!['blackhole', 'reset', 'kill'].includes(fault)) problems.push(`--faults: unknown fault ${fault}; use blackhole, reset or kill`)
  for (const phase of options.phases) if (!['kill', 'outage'].includes(phase)) problems.push(`--phases: unknown phase ${phase}; use kill or outage`)

  if (problems.length > 0) throw new UsageError(problems.join('\n'))
  return options
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let options: Options | undefined
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}\n`)
    return 2
  }
  if (options === undefined) {
    print(HELP)
    return 0
  }
  const started = Date.now()
  if (options.phases.has('kill')) await runKills(options)
  if (options.phases.has('outage')) await runOutages(options)
  const seconds = Math.round((Date.now() - started) / 1000)
  print(failures === 0 ? `chaos run passed every check in ${seconds} s` : `chaos run FAILED ${failures} check(s) in ${seconds} s`)
  return failures === 0 ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`chaos: run aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
