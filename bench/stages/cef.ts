import { CEF_TCP_TENANT, CEF_UDP_TENANT, type RunContext, type RunningServer } from '../context.js'
import { DRAIN_CAP_MS, quietPeriodMs } from '../support/drain.js'
import { CountPoller } from '../support/poll.js'
import { tcpPortOpen, udpPortBound } from '../support/ports.js'
import { ResourceMeter } from '../support/resource-meter.js'
import { round } from '../support/stats.js'
import { forkWorker, nextMessage, workerExit } from '../support/workers.js'
import type { CefJob, CefReport, CefWorkerMessage } from '../workers/cef-worker.js'

export interface UdpResult {
  target_messages_per_s: number
  duration_s: number
  sent: number
  stored: number
  loss_percent: number
  /** Messages a second the sender achieved. */
  send_rate_per_s: number
  server_cpu_seconds: number
}

export interface TcpResult {
  sent: number
  stored: number
  /** Stored messages over the time from the first byte sent until the last row was visible. */
  committed_messages_per_s: number
  /** Messages a second the server read off the connection (the sender waits on TCP back-pressure). */
  send_rate_per_s: number
  all_visible_after_s: number | undefined
  server_cpu_seconds: number
}

export type CefResult =
  | { status: 'skipped'; reason: string }
  | { status: 'ran'; udp: UdpResult | { skipped: string }; tcp: TcpResult | { skipped: string } }

async function sendCef(job: CefJob): Promise<CefReport> {
  const child = forkWorker('cef-worker')
  const ready = nextMessage<Extract<CefWorkerMessage, { type: 'ready' }>>(child, 'ready')
  child.send({ type: 'job', job })
  await ready
  const done = nextMessage<Extract<CefWorkerMessage, { type: 'done' }>>(child, 'done')
  child.send({ type: 'go' })
  const { report } = await done
  await workerExit(child)
  return report
}

function tenantCount(tenant: string): string {
  return `SELECT count() AS n FROM events WHERE tenant_id = '${tenant}'`
}

async function runUdp(context: RunContext, server: RunningServer): Promise<UdpResult> {
  const { udpRate, udpSeconds } = context.options
  context.progress(`CEF UDP: ${udpRate} messages/s for ${udpSeconds} s`)
  const meter = new ResourceMeter(server.process.pid)
  const report = await sendCef({ protocol: 'udp', port: server.cefUdpPort, messages: udpRate * udpSeconds, ratePerSecond: udpRate, seed: 5 })
  const poller = new CountPoller(server, context.adminKey, tenantCount(CEF_UDP_TENANT), 250)
  poller.start()
  // Datagrams can be lost, so the wait also ends when the count stops growing.
  await poller.waitFor(report.send.sent, quietPeriodMs(), DRAIN_CAP_MS)
  await poller.stop()
  const resources = meter.stop()
  const stored = poller.latest?.count ?? 0
  const sent = report.send.sent
  const result: UdpResult = {
    target_messages_per_s: udpRate,
    duration_s: udpSeconds,
    sent,
    stored,
    loss_percent: round((100 * Math.max(0, sent - stored)) / sent, 3),
    send_rate_per_s: Math.round(sent / ((report.endedAtMs - report.startedAtMs) / 1000)),
    server_cpu_seconds: resources.server_cpu_seconds,
  }
  context.progress(`CEF UDP: ${stored} of ${sent} stored, loss ${result.loss_percent} %`)
  return result
}

async function runTcp(context: RunContext, server: RunningServer): Promise<TcpResult> {
  const messages = context.options.tcpMessages
  context.progress(`CEF TCP: ${messages} messages as fast as the server reads them`)
  const meter = new ResourceMeter(server.process.pid)
  const poller = new CountPoller(server, context.adminKey, tenantCount(CEF_TCP_TENANT), 250)
  poller.start()
  const report = await sendCef({ protocol: 'tcp', port: server.cefTcpPort, messages, seed: 6 })
  const allVisible = await poller.waitFor(report.send.sent, quietPeriodMs(), DRAIN_CAP_MS)
  const stored = allVisible?.count ?? poller.latest?.count ?? 0
  await poller.stop()
  const resources = meter.stop()
  const visibleAfterS = allVisible === undefined ? undefined : (allVisible.atMs - report.startedAtMs) / 1000
  const seconds = visibleAfterS ?? (Date.now() - report.startedAtMs) / 1000
  const result: TcpResult = {
    sent: report.send.sent,
    stored,
    committed_messages_per_s: Math.round(stored / seconds),
    send_rate_per_s: Math.round(report.send.sent / ((report.endedAtMs - report.startedAtMs) / 1000)),
    all_visible_after_s: visibleAfterS === undefined ? undefined : round(visibleAfterS),
    server_cpu_seconds: resources.server_cpu_seconds,
  }
  context.progress(`CEF TCP: ${result.committed_messages_per_s} committed messages/s`)
  return result
}

/** UDP at a fixed rate (loss) and TCP at its maximum, on the server's CEF listeners if it has them. */
export async function runCef(context: RunContext, server: RunningServer): Promise<CefResult> {
  const udpAvailable = udpPortBound(server.cefUdpPort)
  const tcpAvailable = await tcpPortOpen(server.cefTcpPort)
  if (!udpAvailable && !tcpAvailable) {
    context.progress('CEF: skipped, CEF listeners not available')
    return { status: 'skipped', reason: 'CEF listeners not available' }
  }
  const udp = udpAvailable ? await runUdp(context, server) : { skipped: 'CEF UDP listener not available' }
  const tcp = tcpAvailable ? await runTcp(context, server) : { skipped: 'CEF TCP listener not available' }
  return { status: 'ran', udp, tcp }
}
