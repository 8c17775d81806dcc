import type { Socket } from 'node:net'
import type { Logger } from '../../logger.js'
import type { IngestContext, Ingestor } from '../types.js'
import { CandidateBatcher } from './batcher.js'
import { FrameDecoder, type FrameSink } from './framing.js'
import type { ResolvedBatchOptions } from './listener-options.js'
import type { CefListenerMetrics } from './metrics.js'
import type { CefNormalizer } from './normalizer.js'

export interface CefTcpConnectionOptions {
  socket: Socket
  normalizer: CefNormalizer
  ingestor: Ingestor
  context: Omit<IngestContext, 'requestId'>
  batch: ResolvedBatchOptions
  maxMessageSize: number
  /** Milliseconds without data after which the connection is closed; 0 turns it off. */
  idleTimeoutMs: number
  logger: Logger
  metrics: CefListenerMetrics
}

const QUIET_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

/**
 * One CEF TCP connection: frames the byte stream, normalizes each message
 * and batches the candidates. Reading pauses while the queue cannot take
 * more (the idle timeout is off meanwhile, since silence is then ours).
 */
export class CefTcpConnection {
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>
  /** Resolves when the socket has closed and every message read was handed to ingest. */
  readonly done: Promise<void>
  readonly #socket: Socket
  readonly #options: CefTcpConnectionOptions
  readonly #decoder: FrameDecoder
  readonly #batcher: CandidateBatcher
  #receivedAt = 0

  constructor(options: CefTcpConnectionOptions) {
    this.#options = options
    this.#socket = options.socket
    this.#decoder = new FrameDecoder(options.maxMessageSize, this.#sink())
    this.#batcher = new CandidateBatcher({
      ingestor: options.ingestor,
      context: options.context,
      ...options.batch,
      maxPending: Number.POSITIVE_INFINITY,
      logger: options.logger,
      metrics: options.metrics,
      onPressure: (paused) => this.#onPressure(paused),
    })
    const socket = this.#socket
    if (options.idleTimeoutMs > 0) socket.setTimeout(options.idleTimeoutMs)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('timeout', () => {
      options.logger.info({ idle_timeout_ms: options.idleTimeoutMs }, 'closing idle CEF connection')
      socket.destroy()
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const level = err.code !== undefined && QUIET_SOCKET_ERRORS.has(err.code) ? 'debug' : 'warn'
      options.logger[level]({ err }, 'CEF connection error')
    })
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    this.done = this.closed.then(() => {
      this.#receivedAt = Date.now()
      this.#decoder.end()
      return this.#batcher.idle()
    })
  }

  /** Closes the socket; what was already read is still ingested (see `done`). */
  shutdown(): void {
    this.#socket.destroy()
  }

  /** Drops messages that are still waiting for the queue. */
  abort(): void {
    this.#batcher.abort()
  }

  #onData(chunk: Buffer): void {
    this.#receivedAt = Date.now()
    this.#options.metrics.bytes.inc(chunk.length)
    const error = this.#decoder.push(chunk)
    if (error === undefined) return
    this.#options.metrics.framingError(error.code)
    this.#options.logger.warn({ code: error.code, value: error.value }, `closing CEF connection: ${error.message}`)
    this.#socket.destroy()
  }

  #sink(): FrameSink {
    const peerAddress = this.#socket.remoteAddress
    const { metrics, normalizer } = this.#options
    return {
      message: (text) => {
        metrics.received.inc()
        const candidate = normalizer.normalize(text, { receivedAt: this.#receivedAt, peerAddress })
        if (candidate.kind === 'object') metrics.parsed.inc()
        this.#batcher.push(candidate)
      },
      oversized: (truncated, byteLength) => {
        metrics.received.inc()
        this.#batcher.push(normalizer.tooLarge(truncated, byteLength))
      },
      incomplete: (text, expectedBytes) => {
        metrics.received.inc()
        this.#batcher.push(normalizer.incompleteFrame(text, expectedBytes))
      },
    }
  }

  #onPressure(paused: boolean): void {
    const socket = this.#socket
    if (socket.destroyed) return
    if (paused) {
      socket.pause()
      socket.setTimeout(0)
      this.#options.logger.debug('paused reading: queue full')
    } else {
      socket.resume()
      if (this.#options.idleTimeoutMs > 0) socket.setTimeout(this.#options.idleTimeoutMs)
      this.#options.logger.debug('resumed reading')
    }
  }
}
