import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { isIP } from 'node:net'
import type { CefUdpConfig } from '../../config/types.js'
import type { Logger } from '../../logger.js'
import { CandidateBatcher } from './batcher.js'
import {
  LISTENER_DEFAULTS,
  resolveBatchOptions,
  settleWithin,
  type CefListenerOptions,
  type ResolvedBatchOptions,
} from './listener-options.js'
import { CefListenerMetrics } from './metrics.js'
import { CefNormalizer } from './normalizer.js'

export interface CefUdpListenerOptions extends CefListenerOptions<CefUdpConfig> {
  /** Messages that may wait per sender address while the queue is full; more are dropped and counted. @default 10000 */
  maxPendingPerSender?: number
}

const DEFAULT_MAX_PENDING_PER_SENDER = 10_000
const LF = 0x0a

/**
 * CEF over UDP: one message a datagram (a datagram with several lines gives
 * one message a line). UDP cannot slow a sender down, so while the queue is
 * full messages wait in a bounded buffer per sender and the excess is
 * dropped and counted in `siem_cef_messages_dropped_total`.
 */
export class CefUdpListener {
  readonly #options: CefUdpListenerOptions
  readonly #logger: Logger
  readonly #metrics: CefListenerMetrics
  readonly #normalizer: CefNormalizer
  readonly #batch: ResolvedBatchOptions
  readonly #batchers = new Map<string, CandidateBatcher>()
  readonly #maxMessageSize: number
  #socket: Socket | undefined
  #starting: Promise<{ port: number }> | undefined
  #closing: Promise<void> | undefined

  constructor(options: CefUdpListenerOptions) {
    this.#options = options
    this.#logger = options.logger.child({ listener: 'cef_udp' })
    this.#metrics = new CefListenerMetrics(options.registry, 'cef_udp')
    this.#normalizer = new CefNormalizer(options.cef)
    this.#batch = resolveBatchOptions(options)
    this.#maxMessageSize = options.cef.max_message_size
  }

  /** Binds `config.host`:`config.port` (0 picks a free port); resolves with the bound port. Safe to call twice. */
  start(): Promise<{ port: number }> {
    this.#starting ??= this.#bind()
    return this.#starting
  }

  /** Stops receiving and waits until what was received is ingested (up to `closeTimeoutMs`). Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #bind(): Promise<{ port: number }> {
    const config = this.#options.config
    const socket = createSocket({ type: isIP(config.host) === 6 ? 'udp6' : 'udp4' })
    this.#socket = socket
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind({ address: config.host, port: config.port }, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    socket.on('error', (err) => this.#logger.error({ err }, 'CEF UDP listener error'))
    socket.on('message', (message, remote) => this.#onMessage(message, remote))
    const receiveBufferBytes = this.#setReceiveBuffer(socket, config.receive_buffer_size)
    const port = socket.address().port
    this.#logger.info({ host: config.host, port, receive_buffer_bytes: receiveBufferBytes }, 'listening')
    return { port }
  }

  /**
   * Requests the configured receive buffer and returns the size granted.
   * The kernel may grant less (Linux limits it by net.core.rmem_max), so the
   * log shows the granted size.
   */
  #setReceiveBuffer(socket: Socket, bytes: number): number | undefined {
    try {
      socket.setRecvBufferSize(bytes)
    } catch (err) {
      this.#logger.warn({ err, requested_bytes: bytes }, 'could not set the UDP receive buffer size')
    }
    try {
      return socket.getRecvBufferSize()
    } catch {
      return undefined
    }
  }

  #onMessage(datagram: Buffer, remote: RemoteInfo): void {
    this.#metrics.bytes.inc(datagram.length)
    if (this.#closing !== undefined) return
    const receivedAt = Date.now()
    const batcher = this.#batcherFor(remote.address)
    if (datagram.length > this.#maxMessageSize) {
      this.#metrics.received.inc()
      const truncated = datagram.toString('utf8', 0, this.#maxMessageSize)
      batcher.push(this.#normalizer.tooLarge(truncated, datagram.length))
      return
    }
    const firstNewline = datagram.indexOf(LF)
    if (firstNewline === -1 || firstNewline === datagram.length - 1) {
      this.#handleLine(datagram.toString('utf8'), receivedAt, remote.address, batcher)
      return
    }
    for (const line of datagram.toString('utf8').split('\n')) this.#handleLine(line, receivedAt, remote.address, batcher)
  }

  #handleLine(text: string, receivedAt: number, address: string, batcher: CandidateBatcher): void {
    let line = text
    if (line.endsWith('\n')) line = line.slice(0, -1)
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line.endsWith('\0')) line = line.replace(/\0+$/, '')
    if (line.length === 0) return
    this.#metrics.received.inc()
    const candidate = this.#normalizer.normalize(line, { receivedAt, peerAddress: address })
    if (candidate.kind === 'object') this.#metrics.parsed.inc()
    batcher.push(candidate)
  }

  #batcherFor(address: string): CandidateBatcher {
    let batcher = this.#batchers.get(address)
    if (batcher !== undefined) return batcher
    const created: CandidateBatcher = new CandidateBatcher({
      ingestor: this.#options.ingestor,
      context: {
        tenantId: this.#options.config.tenant,
        sourceIp: address,
        sourceFormat: 'cef',
        ack: this.#options.ackMode,
        listener: 'cef_udp',
      },
      ...this.#batch,
      maxPending: this.#options.maxPendingPerSender ?? DEFAULT_MAX_PENDING_PER_SENDER,
      logger: this.#logger,
      metrics: this.#metrics,
      onIdle: () => {
        if (this.#batchers.get(address) === created && created.pendingCount === 0) this.#batchers.delete(address)
      },
    })
    batcher = created
    this.#batchers.set(address, batcher)
    return batcher
  }

  async #shutdown(): Promise<void> {
    if (this.#starting !== undefined) await this.#starting.catch(() => undefined)
    const socket = this.#socket
    if (socket === undefined) return
    await new Promise<void>((resolve) => socket.close(() => resolve()))
    const batchers = [...this.#batchers.values()]
    const timeoutMs = this.#options.closeTimeoutMs ?? LISTENER_DEFAULTS.closeTimeoutMs
    await settleWithin(Promise.all(batchers.map((b) => b.idle())), timeoutMs, () => {
      for (const batcher of batchers) batcher.abort()
    })
    this.#logger.info('CEF UDP listener closed')
  }
}
