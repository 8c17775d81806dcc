import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

/** Settings of one test server process. */
export interface ServerOptions {
  /** Directory of the chdb engine's data; one process at a time may use it. */
  dataDir: string
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number
  /** The only user the server accepts. @default 'default' */
  user: string
  /** That user's password. @default '' */
  password: string
  /**
   * Idle time after which the server closes a keep-alive socket, in
   * milliseconds, sent in the Keep-Alive header in whole seconds.
   * @default 3000, the server `keep_alive_timeout` that `storage.server.idle_socket_ttl` is kept below
   */
  keepAliveTimeoutMs: number
  /** Value of the X-ClickHouse-Server-Display-Name header. @default the host name */
  displayName: string
  /** pino level of the log lines the server writes to stderr. @default 'warn' */
  logLevel: string
}

/** Environment variables the server reads when the matching flag is absent. */
export const ENVIRONMENT = {
  dataDir: 'CLICKHOUSE_TEST_DATA_DIR',
  port: 'CLICKHOUSE_TEST_PORT',
  user: 'CLICKHOUSE_TEST_USER',
  password: 'CLICKHOUSE_TEST_PASSWORD',
  keepAliveTimeoutMs: 'CLICKHOUSE_TEST_KEEP_ALIVE_TIMEOUT_MS',
  logLevel: 'CLICKHOUSE_TEST_LOG_LEVEL',
} as const

const USAGE =
  'usage: main.js --data-dir DIR [--port N] [--user NAME] [--keep-alive-timeout-ms MS] [--log-level LEVEL]; ' +
  `the password comes from ${ENVIRONMENT.password} only, so it does not show in the process list`

/**
 * Reads the options from command-line flags, falling back to environment
 * variables.
 *
 * @throws Error naming the flag and the value when one is missing or invalid.
 */
export function readServerOptions(argv: string[], env: NodeJS.ProcessEnv): ServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string' },
      'keep-alive-timeout-ms': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  })
  const dataDir = values['data-dir'] ?? env[ENVIRONMENT.dataDir]
  if (dataDir === undefined || dataDir === '') throw new Error(`--data-dir is missing; ${USAGE}`)
  return {
    dataDir: resolve(dataDir),
    port: readInteger('--port', values.port ?? env[ENVIRONMENT.port] ?? '0', 0, 65535),
    user: values.user ?? env[ENVIRONMENT.user] ?? 'default',
    password: env[ENVIRONMENT.password] ?? '',
    keepAliveTimeoutMs: readInteger(
      '--keep-alive-timeout-ms',
      values['keep-alive-timeout-ms'] ?? env[ENVIRONMENT.keepAliveTimeoutMs] ?? '3000',
      1,
      3_600_000,
    ),
    displayName: hostname(),
    logLevel: values['log-level'] ?? env[ENVIRONMENT.logLevel] ?? 'warn',
  }
}

function readInteger(flag: string, text: string, min: number, max: number): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag} must be an integer from ${min} to ${max}, got '${text}'`)
  }
  return value
}
