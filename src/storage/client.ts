import { mkdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import type { StorageConfig } from '../config/types.js'
import { SiemError } from '../errors.js'
import type { Logger } from '../logger.js'
import { clientLoggerClass } from './client-log.js'
import { EmbeddedConnection } from './embedded-connection.js'
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js'

/** The client's logger option: a class that writes through pino. */
type ClientLog = { LoggerClass: ReturnType<typeof clientLoggerClass> }

export interface Storage {
  client: ClickHouseClient
  mode: StorageConfig['mode']
  /** Database the tables live in: `default` for the embedded engine, else the configured one. */
  database: string
  /** Data directory of the embedded engine, or undefined in server mode. */
  dataDir: string | undefined
  close(): Promise<void>
}

/** Settings sent with every request, in both modes. */
const COMMON_SETTINGS = {
  // UInt64 values such as count() stay exact in JSON output.
  output_format_json_quote_64bit_integers: 1,
} as const

/**
 * Opens ClickHouse through @clickhouse/client. Embedded mode plugs the chdb
 * engine in as the client's connection, with its data under
 * `storage.data_dir`; server mode talks HTTP to `storage.server.url`. Both
 * return the same client type, so the rest of the code has one path.
 *
 * chdb ignores the client's `database` option, so the embedded engine keeps
 * its tables in `default`.
 */
export async function openStorage(config: StorageConfig, logger?: Logger): Promise<Storage> {
  const log = logger === undefined ? undefined : { LoggerClass: clientLoggerClass(logger) }
  if (config.mode === 'embedded') return openEmbedded(config, log)
  return openServer(config, log)
}

function openEmbedded(config: StorageConfig, log: ClientLog | undefined): Storage {
  const dataDir = resolve(config.data_dir)
  mkdirSync(dataDir, { recursive: true })
  const lock: DataDirLock = acquireDataDirLock(dataDir)
  let connection
  try {
    connection = createChdbConnection({ path: dataDir })
  } catch (err) {
    lock.release()
    throw new SiemError('SIEM_ERR_STORAGE_LOCKED', `cannot open the embedded ClickHouse data directory ${dataDir}`, {
      value: dataDir,
      cause: err,
    })
  }
  // chdb types its connection against @clickhouse/client-common, while
  // @clickhouse/client 1.23 bundles its own copy of the same types; the shapes
  // match, the declarations do not.
  type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection']
  const client = createClient({
    connection: new EmbeddedConnection(connection) as unknown as ClientConnection,
    clickhouse_settings: COMMON_SETTINGS,
    ...(log === undefined ? {} : { log }),
  })
  let closed = false
  return {
    client,
    mode: 'embedded',
    database: 'default',
    dataDir,
    async close() {
      if (closed) return
      closed = true
      await client.close()
      lock.release()
    },
  }
}

async function openServer(config: StorageConfig, log: ClientLog | undefined): Promise<Storage> {
  const server = config.server
  const tls = server.ca_path === '' ? undefined : { ca_cert: readFileSync(server.ca_path) }
  const base = {
    url: server.url,
    username: server.username,
    password: server.password,
    request_timeout: server.request_timeout,
    keep_alive: { enabled: true, idle_socket_ttl: server.idle_socket_ttl },
    clickhouse_settings: COMMON_SETTINGS,
    ...(tls === undefined ? {} : { tls }),
    ...(log === undefined ? {} : { log }),
  }
  // The database may not exist yet, so create it through a client bound to `default`.
  const bootstrap = createClient(base)
  try {
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${server.database}` })
  } catch (err) {
    throw new SiemError(
      'SIEM_ERR_STORAGE_UNAVAILABLE',
      `cannot create or reach database ${server.database} on ${server.url}: ${errorMessage(err)}`,
      { value: server.url, cause: err },
    )
  } finally {
    await bootstrap.close()
  }
  const client = createClient({ ...base, database: server.database })
  let closed = false
  return {
    client,
    mode: 'server',
    database: server.database,
    dataDir: undefined,
    async close() {
      if (closed) return
      closed = true
      await client.close()
    },
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
