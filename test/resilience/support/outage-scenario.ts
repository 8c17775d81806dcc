import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseStack } from './clickhouse-stack.js'
import { compareDelivery, describeDelivery, type DeliveryInput, type DeliveryReport } from './id-sets.js'
import { LoadGenerator, type Rejection } from './load-generator.js'
import { startService, writeConfigFile } from './service-process.js'
import { clientReader, derivedTableProblems, readStoredState } from './stored-events.js'

/**
 * How ClickHouse becomes unreachable: the proxy swallows every byte
 * (`blackhole`), resets every connection (`reset`), or the server process
 * is killed with SIGKILL and restarted on the same port (`kill`).
 */
export type OutageFault = 'blackhole' | 'reset' | 'kill'

export interface OutageScenarioOptions {
  stack: ClickHouseStack
  fault: OutageFault
  outageMs: number
  /** queue.spool.max_bytes, small enough for the load to reach it during the outage. */
  spoolMaxBytes: number
  /** @default 4 */
  concurrency?: number
  /** @default 25 */
  eventsPerRequest?: number
  /** source.product of the events, unique per run on a shared server. */
  product: string
  progress?: (line: string) => void
}

export interface OutageScenarioResult {
  delivery: DeliveryInput
  report: DeliveryReport
  /** 429 and 503 responses, in order. */
  rejections: Rejection[]
  outageStartedAt: number
  outageEndedAt: number
  /** Events acknowledged between the start of the outage and the first rejection. */
  acknowledgedBeforeCap: number
  /** siem_spool_bytes read right after the first rejection, or undefined with no rejection. */
  spoolBytesAtFirstRejection: number | undefined
  /** Largest siem_spool_bytes seen while polling every 50 ms during the outage. */
  maxSpoolBytes: number
  /** Events acknowledged after the outage ended. */
  acknowledgedAfterRecovery: number
  /** Time from the end of the outage until the queue was empty, after the load stopped. */
  drainMs: number
  derivedProblems: string[]
  anomalies: string[]
  /** Exit status of the service's SIGTERM stop at the end. */
  stopCode: number | null
  loadSummary: string
}

/**
 * Runs the service in server mode against the test ClickHouse server
 * through the proxy, under steady load with durable acks, and makes
 * ClickHouse unreachable for `outageMs`. Then restores it, lets the spool
 * drain and compares what ClickHouse contains with what was acknowledged.
 */
export async function runOutageScenario(options: OutageScenarioOptions): Promise<OutageScenarioResult> {
  const { stack, product } = options
  const progress = options.progress ?? (() => undefined)
  const workDir = await mkdtemp(join(tmpdir(), 'siem-outage-'))
  const configFile = writeConfigFile(join(workDir, 'config.yaml'), {
    queue: { retry_after: '1s', spool: { max_bytes: options.spoolMaxBytes, segment_size: '64KiB' } },
    writer: { flush_interval: '50ms', batch_size: 500, retry_initial_delay: '50ms', retry_max_delay: '1s' },
    storage: { server: { request_timeout: '2s' } },
    log: { level: 'info' },
  })
  const service = await startService({
    dataDir: join(workDir, 'data'),
    configFile,
    env: { SIEM_CLICKHOUSE_URL: stack.proxy.url },
    logFile: join(workDir, 'service.log'),
  })
  const load = new LoadGenerator({
    concurrency: options.concurrency ?? 4,
    eventsPerRequest: options.eventsPerRequest ?? 25,
    product,
  })
  try {
    load.setTarget(service.url)
    load.start()
    await load.waitForAcknowledged(500)

    const acknowledgedAtStart = load.acknowledged.size
    const outageStartedAt = Date.now()
    await startFault(stack, options.fault)
    progress(`ClickHouse unreachable (${options.fault}) for ${options.outageMs} ms`)
    let acknowledgedBeforeCap = 0
    let spoolBytesAtFirstRejection: number | undefined
    let maxSpoolBytes = 0
    while (Date.now() - outageStartedAt < options.outageMs) {
      maxSpoolBytes = Math.max(maxSpoolBytes, await service.metric('siem_spool_bytes'))
      if (spoolBytesAtFirstRejection === undefined && load.rejections.length > 0) {
        acknowledgedBeforeCap = load.acknowledged.size - acknowledgedAtStart
        spoolBytesAtFirstRejection = await service.metric('siem_spool_bytes')
        progress(`first 503 after ${(load.rejections[0]?.at ?? 0) - outageStartedAt} ms with spool at ${spoolBytesAtFirstRejection} bytes`)
      }
      await sleep(50)
    }
    if (spoolBytesAtFirstRejection === undefined) acknowledgedBeforeCap = load.acknowledged.size - acknowledgedAtStart

    await endFault(stack, options.fault)
    const outageEndedAt = Date.now()
    const acknowledgedAtRecovery = load.acknowledged.size
    progress(`ClickHouse reachable again; ${load.summary()}`)
    await load.waitForAcknowledged(500, 60_000)
    await load.stop()
    await service.waitForEmptyQueue(120_000)
    const drainMs = Date.now() - outageEndedAt
    progress(`backlog drained ${drainMs} ms after the outage ended`)
    const stopped = await service.stop()

    const state = await readStoredState(clientReader(stack.direct), product)
    const delivery: DeliveryInput = { sent: load.sent, acknowledged: load.acknowledged, rejected: load.rejected, stored: state.events }
    const report = compareDelivery(delivery)
    progress(`stored state: ${describeDelivery(delivery, report)}`)
    return {
      delivery,
      report,
      rejections: load.rejections,
      outageStartedAt,
      outageEndedAt,
      acknowledgedBeforeCap,
      spoolBytesAtFirstRejection,
      maxSpoolBytes,
      acknowledgedAfterRecovery: load.acknowledged.size - acknowledgedAtRecovery,
      drainMs,
      derivedProblems: derivedTableProblems(state),
      anomalies: load.anomalies,
      stopCode: stopped.code,
      loadSummary: load.summary(),
    }
  } finally {
    await load.stop()
    await service.kill()
    await endFault(stack, options.fault).catch(() => undefined)
    await rm(workDir, { recursive: true, force: true })
  }
}

async function startFault(stack: ClickHouseStack, fault: OutageFault): Promise<void> {
  if (fault === 'kill') await stack.server.kill('SIGKILL')
  else stack.proxy.setMode(fault)
}

async function endFault(stack: ClickHouseStack, fault: OutageFault): Promise<void> {
  stack.proxy.setMode('pass')
  if (fault === 'kill' && stack.server.pid === undefined) await stack.server.restart()
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
