/**
 * A TCP proxy on 127.0.0.1 for fault tests: it forwards connections to a
 * target and, on request, adds latency, resets connections or swallows them.
 *
 * ```ts
 * const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: server.port } })
 * const client = createClient({ url: proxy.url })
 * proxy.setMode('blackhole')              // requests hang, new ones too
 * proxy.setMode('delay', { delayMs: 200 }) // every chunk arrives 200 ms late
 * proxy.setMode('reset')                  // open connections get an RST, new ones too
 * proxy.setMode('pass')
 * await proxy.close()
 * ```
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/**
 * - `pass`: forward bytes both ways as they come.
 * - `delay`: forward every chunk `delayMs` late, keeping their order.
 * - `reset`: reset (RST) every open connection and each new one at once.
 * - `blackhole`: accept connections but forward nothing and send nothing
 *   back. The connections open at the switch stay silent too, even after a
 *   later switch back, because bytes were dropped in the middle of their
 *   streams.
 */
export type ProxyMode = 'pass' | 'delay' | 'reset' | 'blackhole'

export interface ProxyModeOptions {
  /** Latency added to each chunk in `delay` mode, in milliseconds. @default 1000 */
  delayMs?: number
}

export interface ProxyTarget {
  host: string
  port: number
}

export interface StartTcpProxyOptions {
  target: ProxyTarget
  /** Port to listen on, on 127.0.0.1. @default 0, a free port */
  port?: number
}

export interface TcpProxy {
  readonly port: number
  /** `http://127.0.0.1:<port>`, for HTTP clients. */
  readonly url: string
  readonly mode: ProxyMode
  /** Switches the mode for open and new connections (see {@link ProxyMode}). */
  setMode(mode: ProxyMode, options?: ProxyModeOptions): void
  /** Sends new connections to another target, e.g. a server restarted on a new port. */
  setTarget(target: ProxyTarget): void
  /** Connections currently open from clients. */
  connectionCount(): number
  /** Stops listening and destroys every connection. Safe to call twice. */
  close(): Promise<void>
}

const DEFAULT_DELAY_MS = 1000

/** Starts a proxy to `target` in `pass` mode. */
export async function startTcpProxy(options: StartTcpProxyOptions): Promise<TcpProxy> {
  const proxy = new Proxy(options.target)
  await proxy.listen(options.port ?? 0)
  return proxy
}

class Proxy implements TcpProxy {
  private currentMode: ProxyMode = 'pass'
  private delayMs = DEFAULT_DELAY_MS
  private readonly server: Server
  private readonly links = new Set<Link>()
  private listeningPort = 0
  private closing: Promise<void> | undefined

  constructor(private target: ProxyTarget) {
    this.server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket))
  }

  get port(): number {
    return this.listeningPort
  }

  get url(): string {
    return `http://127.0.0.1:${this.listeningPort}`
  }

  get mode(): ProxyMode {
    return this.currentMode
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject)
        this.listeningPort = (this.server.address() as AddressInfo).port
        resolve()
      })
    })
  }

  setMode(mode: ProxyMode, options: ProxyModeOptions = {}): void {
    this.currentMode = mode
    this.delayMs = options.delayMs ?? DEFAULT_DELAY_MS
    for (const link of this.links) {
      if (mode === 'reset') link.reset()
      else if (mode === 'blackhole') link.freeze()
    }
  }

  setTarget(target: ProxyTarget): void {
    this.target = target
  }

  connectionCount(): number {
    return this.links.size
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      for (const link of this.links) link.reset()
      this.server.close(() => resolve())
    })
    return this.closing
  }

  private accept(client: Socket): void {
    if (this.currentMode === 'reset') {
      client.resetAndDestroy()
      return
    }
    const link = new Link(client, () => this.delayFor())
    this.links.add(link)
    client.once('close', () => this.links.delete(link))
    if (this.currentMode === 'blackhole') link.freeze()
    else link.open(this.target)
  }

  /** Latency for a chunk forwarded now: the delay in `delay` mode, else none. */
  private delayFor(): number {
    return this.currentMode === 'delay' ? this.delayMs : 0
  }
}

/** One client connection and its connection to the target. */
class Link {
  private upstream: Socket | undefined
  private frozen = false
  private readonly toUpstream: Relay
  private readonly toClient: Relay

  constructor(
    private readonly client: Socket,
    delayFor: () => number,
  ) {
    this.toUpstream = new Relay(delayFor)
    this.toClient = new Relay(delayFor)
    client.on('error', () => this.destroy())
    client.on('close', () => this.destroy())
    // Until the target connection exists, the client's bytes wait in the relay.
    client.on('data', (chunk: Buffer) => this.frozen || this.toUpstream.push(chunk))
    client.on('end', () => this.frozen || this.toUpstream.end())
  }

  open(target: ProxyTarget): void {
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true })
    this.upstream = upstream
    this.toUpstream.attach(this.client, upstream)
    this.toClient.attach(upstream, this.client)
    upstream.on('data', (chunk: Buffer) => this.frozen || this.toClient.push(chunk))
    upstream.on('end', () => this.frozen || this.toClient.end())
    // A target that refuses or resets the connection looks like a reset to
    // the client. A target that closes it normally sends 'end', which the
    // relay forwards after the data still waiting in delay mode.
    upstream.on('error', () => this.reset())
  }

  /** Drops every byte from now on, in both directions, and keeps both sockets open. */
  freeze(): void {
    this.frozen = true
    this.toUpstream.clear()
    this.toClient.clear()
    this.client.resume()
    this.upstream?.resume()
  }

  reset(): void {
    this.toUpstream.clear()
    this.toClient.clear()
    if (!this.client.destroyed) this.client.resetAndDestroy()
    this.upstream?.destroy()
  }

  private destroy(): void {
    this.toUpstream.clear()
    this.toClient.clear()
    this.client.destroy()
    this.upstream?.destroy()
  }
}

interface Pending {
  chunk: Buffer | 'end'
  due: number
}

/**
 * One direction of a link: writes chunks to the destination in order,
 * each no earlier than its due time, and pauses the source while the
 * destination's buffer is full.
 */
class Relay {
  private source: Socket | undefined
  private destination: Socket | undefined
  private readonly pending: Pending[] = []
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly delayFor: () => number) {}

  attach(source: Socket, destination: Socket): void {
    this.source = source
    this.destination = destination
    destination.on('drain', () => source.resume())
    destination.once('connect', () => this.flush())
  }

  push(chunk: Buffer): void {
    this.enqueue(chunk)
  }

  end(): void {
    this.enqueue('end')
  }

  clear(): void {
    this.pending.length = 0
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private enqueue(chunk: Buffer | 'end'): void {
    const last = this.pending[this.pending.length - 1]
    // Chunks keep their order when the delay shrinks between two of them.
    const due = Math.max(Date.now() + this.delayFor(), last?.due ?? 0)
    this.pending.push({ chunk, due })
    this.flush()
  }

  private flush(): void {
    const destination = this.destination
    if (destination === undefined || destination.connecting || this.timer !== undefined) return
    while (this.pending.length > 0) {
      const head = this.pending[0] as Pending
      const wait = head.due - Date.now()
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined
          this.flush()
        }, wait)
        this.timer.unref()
        return
      }
      this.pending.shift()
      if (head.chunk === 'end') destination.end()
      else if (!destination.write(head.chunk)) this.source?.pause()
    }
  }
}
