import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { startClickHouseServer, type ClickHouseTestServer } from '../../support/clickhouse-server/index.js'
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js'

/** Database the service creates and uses on the server (storage.server.database). */
export const SERVER_DATABASE = 'siem'

/**
 * The test ClickHouse server with a TCP proxy in front of it. The service
 * talks to `proxy.url`, so a test can cut it off. `direct` talks to the
 * server itself, for reading what was stored and for ALTERs.
 */
export interface ClickHouseStack {
  server: ClickHouseTestServer
  proxy: TcpProxy
  /** Client bound to SERVER_DATABASE that bypasses the proxy. */
  direct: ClickHouseClient
  /** A client bound to `database` that bypasses the proxy; closed by close(). */
  directTo(database: string): ClickHouseClient
  close(): Promise<void>
}

function directClient(url: string, database: string): ClickHouseClient {
  // The client logs every failed request at error level, and the tests fail requests on purpose.
  return createClient({ url, database, log: { level: ClickHouseLogLevel.OFF } })
}

export async function startClickHouseStack(): Promise<ClickHouseStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'siem-clickhouse-server-'))
  const server = await startClickHouseServer({ dataDir })
  const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: server.port } })
  const direct = directClient(server.url, SERVER_DATABASE)
  const others: ClickHouseClient[] = []
  let closing: Promise<void> | undefined
  return {
    server,
    proxy,
    direct,
    directTo(database) {
      const client = directClient(server.url, database)
      others.push(client)
      return client
    },
    close() {
      closing ??= (async () => {
        await Promise.all([direct, ...others].map((client) => client.close()))
        await proxy.close()
        await server.stop()
        await rm(dataDir, { recursive: true, force: true })
      })()
      return closing
    },
  }
}
