import { readFile } from 'node:fs/promises'
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import type { CefTcpConfig } from '../../config/types.js'
import type { Logger } from '../../logger.js'
import { CefTcpConnection } from './tcp-connection.js'
import {
  LISTENER_DEFAULTS,
  resolveBatchOptions,
  settleWithin,
  type CefListenerOptions,
  type ResolvedBatchOptions,
} from './listener-options.js'
import { CefListenerMetrics } from './metrics.js'
import { CefNormalizer } from './normalizer.js'

export type CefTcpListenerOptions = CefListenerOptions<CefTcpConfig>

/** Minimum milliseconds between two warnings about connections over the limit. */
const REJECT_WARNING_INTERVAL_MS = 10_000

/**
 * CEF over TCP, optionally TLS 1.2 or later. Each connection detects its
 * own framing; at most `max_connections` are open, and one without data for
 * `idle_timeout` is closed.
 */
export class CefTcpListener {
  readonly #options: CefTcpListenerOptions
  readonly #logger: Logger
  readonly #metrics: CefListenerMetrics
  readonly #normalizer: CefNormalizer
  readonly #batch: ResolvedBatchOptions
  readonly #connections = new Set<CefTcpConnection>()
  #server: Server | undefined
  #starting: Promise<{ port: number }> | undefined
  #closing: Promise<void> | undefined
  #nextConnectionId = 0
  #lastRejectWarning = 0

  constructor(options: CefTcpListenerOptions) {
    this.#options = options
    this.#logger = options.logger.child({ listener: 'cef_tcp' })
    this.#metrics = new CefListenerMetrics(options.registry, 'cef_tcp')
    this.#normalizer = new CefNormalizer(options.cef)
    this.#batch = resolveBatchOptions(options)
  }

  /** Listens on `config.host`:`config.port` (0 picks a free port); resolves with the bound port. Safe to call twice. */
  start(): Promise<{ port: number }> {
    this.#starting ??= this.#listen()
    return this.#starting
  }

  /**
   * Stops accepting, closes every connection and waits until what was read
   * is ingested (messages still waiting after `closeTimeoutMs` are dropped
   * and counted). Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  async #listen(): Promise<{ port: number }> {
    const config = this.#options.config
    const server = await this.#createServer(config)
    this.#server = server
    server.maxConnections = config.max_connections
    server.on('drop', () => this.#onDrop())
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: config.host, port: config.port }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (err) => this.#logger.error({ err }, 'CEF TCP listener error'))
    const port = (server.address() as AddressInfo).port
    this.#logger.info({ host: config.host, port, tls: config.tls.enabled }, 'listening')
    return { port }
  }

  async #createServer(config: CefTcpConfig): Promise<Server> {
    const handler = (socket: Socket): void => this.#accept(socket)
    if (!config.tls.enabled) return createNetServer(handler)
    const [cert, key] = await Promise.all([readFile(config.tls.cert_path), readFile(config.tls.key_path)])
    const server = createTlsServer({ cert, key, minVersion: 'TLSv1.2' }, handler)
    server.on('tlsClientError', (err) => this.#logger.debug({ err }, 'CEF TLS handshake failed'))
    return server
  }

  #accept(socket: Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy()
      return
    }
    const id = ++this.#nextConnectionId
    const connection = new CefTcpConnection({
      socket,
      normalizer: this.#normalizer,
      ingestor: this.#options.ingestor,
      context: {
        tenantId: this.#options.config.tenant,
        sourceIp: socket.remoteAddress ?? '',
        sourceFormat: 'cef',
        ack: this.#options.ackMode,
        listener: 'cef_tcp',
      },
      batch: this.#batch,
      maxMessageSize: this.#options.cef.max_message_size,
      idleTimeoutMs: this.#options.config.idle_timeout,
      logger: this.#logger.child({ connection_id: id, remote_address: socket.remoteAddress }),
      metrics: this.#metrics,
    })
    this.#connections.add(connection)
    this.#metrics.openConnections.inc()
    void connection.closed.then(() => this.#metrics.openConnections.dec())
    void connection.done.then(() => this.#connections.delete(connection))
  }

  #onDrop(): void {
    this.#metrics.rejectedConnections.inc()
    const now = Date.now()
    if (now - this.#lastRejectWarning < REJECT_WARNING_INTERVAL_MS) return
    this.#lastRejectWarning = now
    this.#logger.warn({ max_connections: this.#options.config.max_connections }, 'rejected CEF connection: max_connections open')
  }

  async #shutdown(): Promise<void> {
    if (this.#starting !== undefined) await this.#starting.catch(() => undefined)
    const server = this.#server
    if (server === undefined) return
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
    const connections = [...this.#connections]
    for (const connection of connections) connection.shutdown()
    const timeoutMs = this.#options.closeTimeoutMs ?? LISTENER_DEFAULTS.closeTimeoutMs
    await settleWithin(Promise.all(connections.map((c) => c.done)), timeoutMs, () => {
      for (const connection of connections) connection.abort()
    })
    await stopped
    this.#logger.info('CEF TCP listener closed')
  }
}
