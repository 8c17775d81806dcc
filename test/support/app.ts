import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SiemApp, type AppAddresses } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/logger.js'

type Overrides = Record<string, unknown>

export interface TestApp {
  app: SiemApp
  /** Base URL of the HTTP listener, such as http://127.0.0.1:41234. */
  url: string
  addresses: AppAddresses
  dataDir: string
  /** Closes the app; with `keepData` the data directory stays for a restart. */
  close(options?: { keepData?: boolean }): Promise<boolean>
}

function merge(target: Overrides, source: Overrides): Overrides {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key]
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof existing === 'object' && existing !== null) {
      merge(existing as Overrides, value as Overrides)
    } else {
      target[key] = value
    }
  }
  return target
}

/** A fresh data directory under the system temp folder. */
export function freshDataDir(prefix = 'siem-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/**
 * Starts the whole service on embedded ClickHouse with a fresh data directory
 * (or `dataDir`, to restart on an old one), every listener on port 0, a short
 * flush interval and a silent logger, with `overrides` in the config file's
 * shape over that.
 */
export async function startTestApp(overrides: Overrides = {}, dataDir: string = freshDataDir()): Promise<TestApp> {
  const base: Overrides = {
    http: { host: '127.0.0.1', port: 0 },
    storage: { mode: 'embedded', data_dir: join(dataDir, 'clickhouse') },
    queue: { type: 'spool', spool: { dir: join(dataDir, 'spool') } },
    writer: { flush_interval: '50ms' },
    cef: { udp: { enabled: false, port: 0 }, tcp: { enabled: false, port: 0 } },
    log: { level: process.env['SIEM_TEST_LOG'] ?? 'silent' },
    shutdown_wait: '10s',
  }
  const config = loadConfig({ env: {}, overrides: merge(base, overrides) })
  const app = new SiemApp(config, { logger: createLogger(config.log, process.stderr) })
  const addresses = await app.start()
  return {
    app,
    url: `http://127.0.0.1:${addresses.http.port}`,
    addresses,
    dataDir,
    async close(options = {}) {
      const flushed = await app.close()
      if (options.keepData !== true) rmSync(dataDir, { recursive: true, force: true })
      return flushed
    },
  }
}

/** Runs a read query on the app's storage and returns the rows. */
export async function queryRows<T = Record<string, unknown>>(
  app: SiemApp,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const result = await app.storage.client.query({ query, format: 'JSONEachRow', query_params: params })
  return result.json<T>()
}

/** Polls `read` until it returns a value that `done` accepts, or fails after `timeoutMs`. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T = await read()
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
    last = await read()
  }
  return last
}

/** Counts rows of a table, as a number. */
export async function countRows(app: SiemApp, table: string, where = '1'): Promise<number> {
  const rows = await queryRows<{ c: string }>(app, `SELECT count() AS c FROM ${table} WHERE ${where}`)
  return Number(rows[0]?.c ?? 0)
}
