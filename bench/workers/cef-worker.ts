import { sendCefLines, type SendCefResult } from '../../src/ingest/cef/sender.js'
import { toCefLine } from '../model/cef-lines.js'
import { EventGenerator } from '../model/js-generator.js'

/**
 * Sends CEF lines from the event model over UDP or TCP with the project's
 * own CEF sender, in a process apart from the server and the benchmark's
 * poller. Lines are generated before the clock starts.
 */

export interface CefJob {
  protocol: 'udp' | 'tcp'
  port: number
  messages: number
  /** Messages a second; unlimited when absent. */
  ratePerSecond?: number
  seed: number
}

export interface CefReport {
  send: SendCefResult
  /** Epoch milliseconds when sending began and ended. */
  startedAtMs: number
  endedAtMs: number
  cpuSeconds: number
}

export type CefWorkerMessage = { type: 'ready' } | { type: 'done'; report: CefReport } | { type: 'error'; message: string }

let lines: string[] = []
let job: CefJob | undefined

function fail(err: unknown): void {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies CefWorkerMessage)
}

async function send(current: CefJob): Promise<CefReport> {
  const cpuBefore = process.cpuUsage()
  const startedAtMs = Date.now()
  const result = await sendCefLines(lines, {
    protocol: current.protocol,
    host: '127.0.0.1',
    port: current.port,
    rebaseTime: false,
    ...(current.ratePerSecond === undefined ? {} : { ratePerSecond: current.ratePerSecond }),
  })
  const cpu = process.cpuUsage(cpuBefore)
  return { send: result, startedAtMs, endedAtMs: Date.now(), cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

process.on('message', (message: { type: 'job'; job: CefJob } | { type: 'go' }) => {
  if (message.type === 'job') {
    try {
      job = message.job
      const generator = new EventGenerator(job.seed)
      const now = Date.now()
      lines = Array.from({ length: job.messages }, () => toCefLine(generator.next(now, 60_000)))
      process.send?.({ type: 'ready' } satisfies CefWorkerMessage)
    } catch (err) {
      fail(err)
    }
    return
  }
  if (job === undefined) return
  send(job).then(
    (report) => process.send?.({ type: 'done', report } satisfies CefWorkerMessage, () => process.disconnect()),
    (err: unknown) => {
      fail(err)
      process.disconnect()
    },
  )
})
