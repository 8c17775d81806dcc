import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { trackChild } from './cleanup.js'

/** The compiled CLI, `siem serve` runs from it. */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

/**
 * The node flags `npm start` passes, so that the benchmark measures the
 * server as it is started (a test compares this list with package.json).
 * `--single-threaded-gc` runs V8's collections on the thread that
 * allocates instead of on helper threads. The server already runs the main
 * thread, the preparation workers and the engine's threads, so on a
 * machine with few cores the helpers only competed with them.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--single-threaded-gc']

export interface ServerOptions {
  dataDir: string
  /** YAML configuration file given as SIEM_CONFIG. */
  configPath: string
  /** The server's stdout and stderr go here, so that a full pipe can never stall it. */
  logPath: string
  env?: Record<string, string>
  /** When set, the server runs under `node --cpu-prof` and writes its profile here on exit. */
  cpuProfileDir?: string
  startTimeoutMs?: number
  /** Ports of other listeners the server may also log as listening (the CEF ones). */
  otherPorts?: number[]
}

interface LogLine {
  msg?: string
  port?: number
  listener?: string
}

/** The real server, `siem serve`, in a child process of its own. */
export class ServerProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly logPath: string

  private constructor(child: ChildProcess, port: number, logPath: string) {
    this.child = child
    this.port = port
    this.logPath = logPath
  }

  get pid(): number {
    return this.child.pid as number
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  static async start(options: ServerOptions): Promise<ServerProcess> {
    const logFd = openSync(options.logPath, 'a')
    const nodeArgs = [...SERVER_NODE_FLAGS]
    if (options.cpuProfileDir !== undefined) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir)
    // Extra node flags for a diagnosis, such as BENCH_SERVER_NODE_ARGS=--trace-gc, whose output goes to the server's log.
    // They come last, so --no-single-threaded-gc there measures the server without that flag.
    nodeArgs.push(...(process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== ''))
    const child = spawn(process.execPath, [...nodeArgs, CLI_PATH, 'serve'], {
      env: {
        ...process.env,
        SIEM_CONFIG: options.configPath,
        SIEM_DATA_DIR: options.dataDir,
        SIEM_HTTP_HOST: '127.0.0.1',
        SIEM_HTTP_PORT: '0',
        ...options.env,
      },
      stdio: ['ignore', logFd, logFd],
    })
    closeSync(logFd)
    trackChild(child)
    const port = await waitForListening(child, options, options.startTimeoutMs ?? 60_000)
    return new ServerProcess(child, port, options.logPath)
  }

  /** The last lines of the server's log, for error messages. */
  logTail(lines = 20): string {
    return readLogTail(this.logPath, lines)
  }

  /**
   * Sends SIGTERM (the server drains its queue and exits) and waits up to
   * `timeoutMs`, then SIGKILL. Resolves with the exit code, or null when it
   * had to be killed.
   */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    const child = this.child
    if (child.exitCode !== null) return child.exitCode
    if (child.signalCode !== null) return null
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const [code] = await exited
    clearTimeout(timer)
    // The log is in the run's temporary directory, which is removed at the end, so each server's log is appended here.
    const logCopy = process.env['BENCH_SERVER_LOG']
    if (logCopy !== undefined) appendFileSync(logCopy, readFileSync(this.logPath))
    return code
  }
}

function readLogTail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/**
 * Polls the log for the JSON line `{"msg":"listening","port":…}` the server
 * writes once its HTTP listener accepts requests.
 */
async function waitForListening(child: ChildProcess, options: ServerOptions, timeoutMs: number): Promise<number> {
  const logPath = options.logPath
  const otherPorts = new Set(options.otherPorts ?? [])
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before listening:\n${readLogTail(logPath, 30)}`)
    }
    const text = readFileSync(logPath, 'utf8')
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue
      try {
        const parsed = JSON.parse(line) as LogLine
        const isHttp = parsed.listener === undefined || parsed.listener === 'http'
        if (parsed.msg === 'listening' && typeof parsed.port === 'number' && isHttp && !otherPorts.has(parsed.port)) {
          return parsed.port
        }
      } catch {
        // A line still being written; read again on the next poll.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`server did not log "listening" within ${timeoutMs} ms:\n${readLogTail(logPath, 30)}`)
}
