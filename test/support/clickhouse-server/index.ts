/**
 * Test helper that runs the test ClickHouse server (ClickHouse's HTTP
 * interface on top of chdb) in a child process, so a test can kill it,
 * freeze it and restart it on the same data while a client talks to it.
 *
 * ```ts
 * const server = await startClickHouseServer({ dataDir })
 * const client = createClient({ url: server.url })
 * server.pause()            // SIGSTOP: requests hang until resume()
 * await server.kill()       // SIGKILL: connections are refused
 * await server.restart()    // same data directory, same port
 * await server.stop()
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ENVIRONMENT } from './options.js'

export interface StartClickHouseServerOptions {
  /** Directory of the server's data. Only one process may use a directory at a time. */
  dataDir: string
  /** Port on 127.0.0.1. @default 0, a free port picked at the first start and kept by restart() */
  port?: number
  /** The only user the server accepts. @default 'default' */
  user?: string
  /** That user's password. @default '' */
  password?: string
  /** Idle time after which the server closes keep-alive sockets, in milliseconds. @default 3000 */
  keepAliveTimeoutMs?: number
  /** How long to wait for the server to listen, in milliseconds. @default 30000 */
  startTimeoutMs?: number
  /** pino level of the server's stderr log, kept in output(). @default 'warn' */
  logLevel?: string
}

export interface RestartOptions {
  /** Port for the new process. @default the current port */
  port?: number
}

export interface ClickHouseTestServer {
  /** `http://127.0.0.1:<port>`, the URL for @clickhouse/client. */
  readonly url: string
  readonly port: number
  readonly username: string
  readonly password: string
  /** Process id of the running server, or undefined while none runs. */
  readonly pid: number | undefined
  /**
   * Sends `signal` and waits until the process has exited.
   * @default 'SIGKILL'
   */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Freezes the process with SIGSTOP. Connections stay open and no request gets a response. */
  pause(): void
  /** Continues a process frozen by pause() with SIGCONT. */
  resume(): void
  /** Stops the server if it runs and starts it again on the same data directory. */
  restart(options?: RestartOptions): Promise<void>
  /** Stops the server with SIGTERM (SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>
  /** The last lines the server wrote to stderr, for failure messages. */
  output(): string
}

const MAIN_PATH = fileURLToPath(new URL('./main.js', import.meta.url))

/** How long stop() waits after SIGTERM before it sends SIGKILL, in milliseconds. */
const STOP_GRACE_MS = 5000

/** Bytes of stderr kept for output(). */
const OUTPUT_LIMIT = 64 * 1024

/**
 * Server processes still running. A server exits by itself when this
 * process's end closes its stdin, but a paused one cannot notice, so this
 * process kills them all as it exits.
 */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/**
 * Starts the test ClickHouse server and resolves once it accepts connections.
 *
 * @throws Error with the server's stderr when it exits or does not listen in time.
 */
export async function startClickHouseServer(options: StartClickHouseServerOptions): Promise<ClickHouseTestServer> {
  const server = new ServerProcess(options)
  await server.start(options.port ?? 0)
  return server
}

class ServerProcess implements ClickHouseTestServer {
  readonly username: string
  readonly password: string
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private currentPort = 0
  private paused = false
  private stderrTail = ''

  constructor(private readonly options: StartClickHouseServerOptions) {
    this.username = options.user ?? 'default'
    this.password = options.password ?? ''
  }

  get url(): string {
    return `http://127.0.0.1:${this.currentPort}`
  }

  get port(): number {
    return this.currentPort
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  async start(port: number): Promise<void> {
    const child = spawn(process.execPath, this.arguments(port), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, [ENVIRONMENT.password]: this.password },
    })
    this.child = child
    this.paused = false
    running.add(child)
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        running.delete(child)
        if (this.child === child) this.child = undefined
        resolve()
      })
    })
    child.on('error', (err) => this.keepOutput(Buffer.from(`spawn failed: ${err.message}\n`)))
    child.stderr?.on('data', (chunk: Buffer) => this.keepOutput(chunk))
    // The server exits when its stdin closes, so it never outlives this
    // process; unref() keeps a forgotten server from holding this process open.
    child.unref()
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref()
    this.currentPort = await this.waitUntilListening(child)
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child
    if (child === undefined) return
    child.kill(signal)
    // A stopped process acts on SIGTERM only once it runs again.
    if (this.paused && signal !== 'SIGKILL') child.kill('SIGCONT')
    this.paused = false
    await keepAliveUntil(this.exited)
  }

  pause(): void {
    this.child?.kill('SIGSTOP')
    this.paused = this.child !== undefined
  }

  resume(): void {
    this.child?.kill('SIGCONT')
    this.paused = false
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    await this.stop()
    await this.start(options.port ?? this.currentPort)
  }

  async stop(): Promise<void> {
    const child = this.child
    if (child === undefined) return
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    try {
      await this.kill('SIGTERM')
    } finally {
      clearTimeout(force)
    }
  }

  output(): string {
    return this.stderrTail
  }

  private arguments(port: number): string[] {
    const args = [MAIN_PATH, '--data-dir', this.options.dataDir, '--port', String(port), '--user', this.username]
    if (this.options.keepAliveTimeoutMs !== undefined) {
      args.push('--keep-alive-timeout-ms', String(this.options.keepAliveTimeoutMs))
    }
    if (this.options.logLevel !== undefined) args.push('--log-level', this.options.logLevel)
    return args
  }

  private waitUntilListening(child: ChildProcess): Promise<number> {
    const timeoutMs = this.options.startTimeoutMs ?? 30_000
    return new Promise((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
      const fail = (reason: string) => {
        cleanup()
        child.kill('SIGKILL')
        reject(new Error(`test ClickHouse server on ${this.options.dataDir} ${reason}; its stderr:\n${this.stderrTail}`))
      }
      const timer = setTimeout(() => fail(`did not listen within ${timeoutMs} ms`), timeoutMs)
      const onExit = (code: number | null, signal: string | null) => fail(`exited with ${signal ?? `code ${code}`}`)
      const onError = (err: Error) => fail(`could not be started: ${err.message}`)
      const onLine = (line: string) => {
        const port = readyPort(line)
        if (port === undefined) return
        cleanup()
        resolve(port)
      }
      const cleanup = () => {
        clearTimeout(timer)
        child.off('exit', onExit)
        child.off('error', onError)
        lines.off('line', onLine)
      }
      child.once('exit', onExit)
      child.once('error', onError)
      lines.on('line', onLine)
    })
  }

  private keepOutput(chunk: Buffer): void {
    this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-OUTPUT_LIMIT)
  }
}

function readyPort(line: string): number | undefined {
  try {
    const message = JSON.parse(line) as { listening?: unknown }
    return typeof message.listening === 'number' ? message.listening : undefined
  } catch {
    return undefined
  }
}

/**
 * Awaits `promise` with a referenced timer running, because the child and
 * its pipes are unref()'d and would not keep the event loop alive alone.
 */
async function keepAliveUntil(promise: Promise<void>): Promise<void> {
  const timer = setInterval(() => undefined, 1000)
  try {
    await promise
  } finally {
    clearInterval(timer)
  }
}
