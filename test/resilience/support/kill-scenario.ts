import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compareDelivery, describeDelivery, type DeliveryInput, type DeliveryReport } from './id-sets.js'
import { LoadGenerator } from './load-generator.js'
import { ServiceProcess, startService, writeConfigFile, type StartServiceOptions } from './service-process.js'
import { cliReader, derivedTableProblems, readStoredState } from './stored-events.js'

export interface KillScenarioOptions {
  /** kill -9 rounds, each followed by a restart on the same data directory. */
  kills: number
  /** Time from "listening" to the kill, drawn evenly from this range, in milliseconds. */
  loadMs: [number, number]
  /**
   * Share of the kills (after the first start) aimed at a random moment
   * from spawn, which may fall before "listening": during spool replay.
   * @default 0
   */
  startupKillShare?: number
  /** @default 4 */
  concurrency?: number
  /** @default 25 */
  eventsPerRequest?: number
  /**
   * Send each request that a kill cut off again after the restart, as a
   * retrying sender does. The server must skip what it kept the first time.
   * @default true
   */
  resendFailed?: boolean
  /** Directory for the data, config and log; a fresh temp directory when absent. */
  workDir?: string
  /** Receives one line per step, for the chaos run's output. */
  progress?: (line: string) => void
}

export interface KillScenarioResult {
  workDir: string
  dataDir: string
  kills: number
  /** Kills that landed before the service listened. */
  startupKills: number
  /** Batches replayed from the spool, summed over the restarts. */
  replayedBatches: number
  delivery: DeliveryInput
  report: DeliveryReport
  /** Rows of `SELECT event_id, count() c FROM events GROUP BY event_id HAVING c > 1`. */
  duplicateRows: number
  /** Problems of events_critical and events_hourly. */
  derivedProblems: string[]
  /** Problems of the service itself: a kill that found it dead, a final stop with a non-zero code. */
  serviceProblems: string[]
  /** Load generator responses that broke the API contract. */
  anomalies: string[]
  loadSummary: string
  /** Events sent again after their request failed in transit, and how many of them the server skipped as already kept. */
  resentEvents: number
  resentDuplicates: number
}

const PRODUCT = 'kill_restart'

/**
 * Runs the service under steady HTTP load with durable acks, kills it with
 * SIGKILL at random moments and restarts it on the same data directory,
 * then lets a last start drain the spool, stops it, and reads `events`
 * with `siem sql` on the data directory.
 */
export async function runKillScenario(options: KillScenarioOptions): Promise<KillScenarioResult> {
  const progress = options.progress ?? (() => undefined)
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'siem-kill-')))
  const dataDir = join(workDir, 'data')
  const configFile = writeConfigFile(join(workDir, 'config.yaml'), {
    writer: { flush_interval: '100ms', batch_size: 400 },
    // Small segments, so segments are deleted and replays cross segment borders.
    queue: { spool: { segment_size: '256KiB' } },
    query: { max_rows: 10_000_000 },
    log: { level: 'info' },
  })
  const serviceOptions: StartServiceOptions = { dataDir, configFile, logFile: join(workDir, 'service.log') }
  const load = new LoadGenerator({
    concurrency: options.concurrency ?? 4,
    eventsPerRequest: options.eventsPerRequest ?? 25,
    product: PRODUCT,
    resendFailed: options.resendFailed ?? true,
  })
  const serviceProblems: string[] = []
  let startupKills = 0
  let replayedBatches = 0
  let current: ServiceProcess | undefined
  load.start()
  try {
    for (let round = 1; round <= options.kills; round++) {
      const service = new ServiceProcess(serviceOptions)
      current = service
      const early = round > 1 && Math.random() < (options.startupKillShare ?? 0)
      const acknowledgedBefore = load.acknowledged.size
      if (early) {
        await aimAtStartup(service, load, options.loadMs[1])
      } else {
        await service.listening
        load.setTarget(service.url)
        await sleep(between(options.loadMs))
      }
      const listened = service.port !== 0
      if (!listened) startupKills++
      const status = await service.kill('SIGKILL')
      load.setTarget(undefined)
      replayedBatches += replayedBatchesOf(service)
      if (status.signal !== 'SIGKILL') serviceProblems.push(`round ${round}: the service had exited by itself with ${JSON.stringify(status)}`)
      progress(
        `kill ${round}/${options.kills}: ${listened ? 'under load' : 'during start-up'} after ${Date.now() - service.startedAt} ms, ` +
          `acknowledged +${load.acknowledged.size - acknowledgedBefore}; ${load.summary()}`,
      )
    }

    const last = await startService(serviceOptions)
    current = last
    replayedBatches += replayedBatchesOf(last)
    load.setTarget(last.url)
    await load.waitForAcknowledged(200)
    await load.stop()
    await last.waitForEmptyQueue(120_000)
    const stopped = await last.stop()
    if (stopped.code !== 0) serviceProblems.push(`final stop exited with ${JSON.stringify(stopped)}; output:\n${last.output()}`)
    progress(`final start drained the spool and stopped in ${stopped.durationMs} ms; ${load.summary()}`)
  } finally {
    // Also on a failure, so no loop or child keeps this process alive.
    await load.stop()
    await current?.kill()
  }

  const state = await readStoredState(cliReader({ dataDir, configFile }), PRODUCT)
  const delivery: DeliveryInput = { sent: load.sent, acknowledged: load.acknowledged, rejected: load.rejected, stored: state.events }
  const report = compareDelivery(delivery)
  progress(`stored state: ${describeDelivery(delivery, report)}; re-sent ${load.resentEvents} events, ${load.resentDuplicates} skipped as kept`)
  return {
    workDir,
    dataDir,
    kills: options.kills,
    startupKills,
    replayedBatches,
    delivery,
    report,
    duplicateRows: state.duplicateRows.length,
    derivedProblems: derivedTableProblems(state),
    serviceProblems,
    anomalies: load.anomalies,
    loadSummary: load.summary(),
    resentEvents: load.resentEvents,
    resentDuplicates: load.resentDuplicates,
  }
}

/** Lets the load run from the moment the service listens, and returns at a random moment after spawn. */
async function aimAtStartup(service: ServiceProcess, load: LoadGenerator, maxMs: number): Promise<void> {
  service.listening.then(
    () => {
      if (service.exitStatus === undefined) load.setTarget(service.url)
    },
    () => undefined,
  )
  await sleep(Math.random() * maxMs)
}

function replayedBatchesOf(service: ServiceProcess): number {
  const opened = service.recordsWithMessage('spool opened')[0]
  return typeof opened?.['replayed_batches'] === 'number' ? opened['replayed_batches'] : 0
}

function between([min, max]: [number, number]): number {
  return min + Math.random() * (max - min)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
