import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { hashApiKey } from '../src/http/auth.js'
import { TENANTS } from './model/event-model.js'
import type { BenchOptions } from './options.js'
import { HttpTarget } from './support/http.js'
import { freeTcpPort, freeUdpPort } from './support/ports.js'
import { ServerProcess } from './support/server-process.js'
import type { IngestKey } from './workers/protocol.js'

/** Tenants the CEF listeners assign, so that their rows are counted apart from HTTP ones. */
export const CEF_UDP_TENANT = 'cef-udp'
export const CEF_TCP_TENANT = 'cef-tcp'

export interface RunningServer {
  process: ServerProcess
  http: HttpTarget
  cefUdpPort: number
  cefTcpPort: number
  dataDir: string
}

export interface ServerStartOptions {
  /** Existing data directory to start on; a fresh one when absent. */
  dataDir?: string
  cpuProfileDir?: string
}

/** What every stage shares: options, the temporary directory, API keys and progress output. */
export class RunContext {
  readonly options: BenchOptions
  readonly workDir: string
  readonly ingestKeys: IngestKey[]
  readonly adminKey: string
  readonly #startedAt = performance.now()

  constructor(options: BenchOptions, workDir: string) {
    this.options = options
    this.workDir = workDir
    this.ingestKeys = TENANTS.map((tenant) => ({ tenant: tenant.id, key: randomBytes(24).toString('hex') }))
    this.adminKey = randomBytes(24).toString('hex')
  }

  /** One progress line on stderr, prefixed with the seconds since the run began. */
  progress(message: string): void {
    const seconds = ((performance.now() - this.#startedAt) / 1000).toFixed(1).padStart(6)
    process.stderr.write(`[bench ${seconds}s] ${message}\n`)
  }

  /** A new directory under the run's temporary directory. */
  directory(name: string): string {
    const path = join(this.workDir, name)
    mkdirSync(path, { recursive: true })
    return path
  }

  /**
   * Starts `siem serve` with the default configuration except: one ingest
   * key per tenant and an admin key (so that events carry realistic tenants),
   * no query rate limit (the benchmark polls), and CEF listeners on free ports
   * with tenants of their own.
   */
  async startServer(name: string, options: ServerStartOptions = {}): Promise<RunningServer> {
    const home = this.directory(name)
    const dataDir = options.dataDir ?? join(home, 'data')
    const cefUdpPort = await freeUdpPort()
    const cefTcpPort = await freeTcpPort()
    const apiKeys = [
      ...this.ingestKeys.map((entry) => ({ name: `bench-${entry.tenant}`, sha256: hashApiKey(entry.key), tenant: entry.tenant, roles: ['ingest'] })),
      { name: 'bench-admin', sha256: hashApiKey(this.adminKey), tenant: TENANTS[0]?.id ?? 'default', roles: ['admin'] },
    ]
    const config = {
      auth: { api_keys: apiKeys },
      query: { rate_limit_per_minute: 0 },
      cef: {
        udp: { host: '127.0.0.1', port: cefUdpPort, tenant: CEF_UDP_TENANT },
        tcp: { host: '127.0.0.1', port: cefTcpPort, tenant: CEF_TCP_TENANT },
      },
    }
    const configPath = join(home, 'config.yaml')
    writeFileSync(configPath, stringify(config))
    const process = await ServerProcess.start({
      dataDir,
      configPath,
      logPath: join(home, 'server.log'),
      otherPorts: [cefUdpPort, cefTcpPort],
      ...(options.cpuProfileDir === undefined ? {} : { cpuProfileDir: options.cpuProfileDir }),
    })
    this.progress(`server ${name} listening on ${process.url} (pid ${process.pid})`)
    return { process, http: new HttpTarget(process.url, 8), cefUdpPort, cefTcpPort, dataDir }
  }

  async stopServer(server: RunningServer): Promise<number | null> {
    const started = performance.now()
    server.http.close()
    const code = await server.process.stop()
    this.progress(`server pid ${server.process.pid} stopped with exit code ${code} in ${Math.round(performance.now() - started)} ms`)
    return code
  }
}
