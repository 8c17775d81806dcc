/**
 * Runs the real service, `node dist/src/cli/main.js serve`, as a child
 * process that a test can kill -9, stop with SIGTERM and start again on
 * the same data directory.
 *
 * ```ts
 * const service = await startService({ dataDir, configFile })
 * await postEvents(service.url, ...)
 * await service.kill()                       // SIGKILL
 * const again = await startService({ dataDir, configFile })
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'

/** Path of the compiled CLI entry point. */
export const CLI_PATH = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url))

export interface StartServiceOptions {
  /** `storage.data_dir` (SIEM_DATA_DIR); the spool defaults to `<dataDir>/spool`. */
  dataDir: string
  /** YAML configuration passed as SIEM_CONFIG. */
  configFile?: string
  /** More environment variables, such as SIEM_CLICKHOUSE_URL. */
  env?: Record<string, string>
  /** File every output line of the service is appended to, for reading after a failure. */
  logFile?: string
  /** How long to wait for the "listening" log line, in milliseconds. @default 60000 */
  startTimeoutMs?: number
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

/** One pino line of the service's log. */
export interface LogRecord {
  level: number
  msg: string
  [field: string]: unknown
}

/** pino's number for `warn`; records at this level and above are kept. */
const WARN = 40

/** Log records kept at most, and output lines kept for failure messages. */
const MAX_KEPT_RECORDS = 20_000
const TAIL_LINES = 80

/** Services still running; they are killed when this process exits, so none outlives a test. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Writes `config` (in the configuration file's shape) as YAML to `path` and returns the path. */
export function writeConfigFile(path: string, config: Record<string, unknown>): string {
  writeFileSync(path, stringify(config))
  return path
}

/** Environment of a child: this process's, without any SIEM_ variable, so the caller's shell cannot change the test. */
export function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('SIEM_')) env[name] = value
  }
  return { ...env, ...extra }
}

/** Starts the service and resolves once it logged "listening" (migrations done, spool replayed). */
export async function startService(options: StartServiceOptions): Promise<ServiceProcess> {
  const service = new ServiceProcess(options)
  await service.listening
  return service
}

export class ServiceProcess {
  /** Resolves with the HTTP port once the service listens; rejects when it exits or times out first. */
  readonly listening: Promise<number>
  readonly exited: Promise<ExitStatus>
  readonly startedAt = Date.now()
  readonly #child: ChildProcess
  readonly #records: LogRecord[] = []
  readonly #tail: string[] = []
  readonly #log: WriteStream | undefined
  #port = 0
  #exit: ExitStatus | undefined

  constructor(options: StartServiceOptions) {
    const env = childEnvironment({
      SIEM_HTTP_HOST: '127.0.0.1',
      SIEM_HTTP_PORT: '0',
      SIEM_DATA_DIR: options.dataDir,
      SIEM_CEF_UDP_ENABLED: 'false',
      SIEM_CEF_TCP_ENABLED: 'false',
      ...(options.configFile === undefined ? {} : { SIEM_CONFIG: options.configFile }),
      ...options.env,
    })
    this.#log = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: 'a' })
    const child = spawn(process.execPath, [CLI_PATH, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    running.add(child)
    this.exited = new Promise((resolve) => {
      // 'close' comes after the output pipes are read to the end, so every log line is in by then.
      child.once('close', (code, signal) => {
        running.delete(child)
        this.#exit = { code, signal }
        resolve(this.#exit)
      })
    })
    child.once('error', (err) => this.#keep(`spawn failed: ${err.message}`))
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => this.#keep(line))
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => this.#readLine(line))
    this.listening = this.#awaitListening(options.startTimeoutMs ?? 60_000)
    // A caller that never awaits `listening` must not see an unhandled rejection.
    this.listening.catch(() => undefined)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  get port(): number {
    return this.#port
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`
  }

  /** The exit status, or undefined while the process runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exit
  }

  /** Log records at warn level and above, and every record `recordsWithMessage` was asked for. */
  get warnings(): readonly LogRecord[] {
    return this.#records
  }

  /** Kept records whose `msg` is `message`. */
  recordsWithMessage(message: string): LogRecord[] {
    return this.#records.filter((record) => record.msg === message)
  }

  /** Returns the last output lines, for failure messages. */
  output(): string {
    return this.#tail.join('\n')
  }

  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    if (this.#exit === undefined) this.#child.kill(signal)
    const status = await this.exited
    await this.#closeLog()
    return status
  }

  /**
   * Sends SIGTERM and waits for the exit; sends SIGKILL and throws when the
   * service is still running after `timeoutMs`.
   */
  async stop(timeoutMs = 60_000): Promise<ExitStatus & { durationMs: number }> {
    const started = Date.now()
    if (this.#exit === undefined) this.#child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    })
    const outcome = await Promise.race([this.exited, timedOut])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      await this.kill('SIGKILL')
      throw new Error(`service pid ${this.pid} still ran ${timeoutMs} ms after SIGTERM; output:\n${this.output()}`)
    }
    await this.#closeLog()
    return { ...outcome, durationMs: Date.now() - started }
  }

  /**
   * Reads the queue depth in events from /metrics, which unlike /health
   * does not wait for a ClickHouse ping.
   */
  queueDepth(): Promise<number> {
    return this.metric('siem_queue_depth_events')
  }

  /** Waits until the queue is empty: every accepted event is stored in ClickHouse. */
  async waitForEmptyQueue(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let depth = await this.queueDepth()
    while (depth > 0) {
      if (Date.now() > deadline) throw new Error(`queue still holds ${depth} events after ${timeoutMs} ms; output:\n${this.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
      depth = await this.queueDepth()
    }
  }

  /** Reads one sample of a metric from /metrics, summed over its series; throws when it is missing. */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text()
    if (!text.includes(`\n${name}`)) throw new Error(`/metrics has no ${name}`)
    let total = 0
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
    return total
  }

  #readLine(line: string): void {
    this.#keep(line)
    let record: LogRecord
    try {
      record = JSON.parse(line) as LogRecord
    } catch {
      return
    }
    if (record.msg === 'listening' && typeof record['port'] === 'number') this.#port = record['port']
    if ((record.level >= WARN || KEPT_MESSAGES.has(record.msg)) && this.#records.length < MAX_KEPT_RECORDS) this.#records.push(record)
  }

  #keep(line: string): void {
    this.#log?.write(`${line}\n`)
    this.#tail.push(line)
    if (this.#tail.length > TAIL_LINES) this.#tail.shift()
  }

  #awaitListening(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = setInterval(() => {
        if (this.#port !== 0) {
          clearInterval(check)
          resolve(this.#port)
        } else if (this.#exit !== undefined || Date.now() - this.startedAt > timeoutMs) {
          clearInterval(check)
          if (this.#exit === undefined) this.#child.kill('SIGKILL')
          const reason = this.#exit === undefined ? `did not listen within ${timeoutMs} ms` : `exited with ${JSON.stringify(this.#exit)}`
          reject(new Error(`service ${reason}; output:\n${this.output()}`))
        }
      }, 10)
    })
  }

  #closeLog(): Promise<void> {
    const log = this.#log
    if (log === undefined || log.closed) return Promise.resolve()
    return new Promise((resolve) => log.end(resolve))
  }
}

/** Info-level messages the tests read, kept next to the warnings. */
const KEPT_MESSAGES = new Set(['spool opened', 'shutting down', 'shutdown complete', 'listening'])
