/**
 * JSON schema of the configuration file, with every default. Durations are
 * strings such as `500ms`, `5s`, `10m`, `7d` (or integer milliseconds); sizes
 * are integer bytes or strings such as `64KiB`, `10MiB`, `1GiB`. Every object
 * rejects unknown keys.
 */

type Schema = Record<string, unknown>

const duration = (value: string): Schema => ({ type: ['string', 'integer'], format: 'duration', default: value })
const size = (value: string): Schema => ({ type: ['string', 'integer'], format: 'size', default: value })
const integer = (value: number, minimum: number, maximum: number): Schema => ({
  type: 'integer',
  minimum,
  maximum,
  default: value,
})
const text = (value: string, extra: Schema = {}): Schema => ({ type: 'string', default: value, ...extra })
const flag = (value: boolean): Schema => ({ type: 'boolean', default: value })
const oneOf = (value: string, values: string[]): Schema => ({ type: 'string', enum: values, default: value })

function section(properties: Record<string, Schema>): Schema {
  return { type: 'object', additionalProperties: false, default: {}, properties }
}

const tlsFiles = section({
  enabled: flag(false),
  cert_path: text(''),
  key_path: text(''),
})

const port = (value: number): Schema => integer(value, 0, 65535)

/** Paths of the keys whose values are durations or sizes, resolved after validation. */
export const DURATION_KEYS = [
  'http.request_timeout',
  'ingest.dedup_window',
  'validation.max_event_age',
  'validation.max_future',
  'queue.block_timeout',
  'queue.retry_after',
  'queue.spool.group_commit_delay',
  'writer.flush_interval',
  'writer.idle_flush',
  'writer.retry_initial_delay',
  'writer.retry_max_delay',
  'storage.server.request_timeout',
  'storage.server.idle_socket_ttl',
  'cef.tcp.idle_timeout',
  'query.timeout',
  'shutdown_wait',
] as const

export const SIZE_KEYS = [
  'ingest.max_payload_size',
  'ingest.max_quarantine_raw',
  'queue.max_bytes',
  'queue.spool.segment_size',
  'queue.spool.max_bytes',
  'cef.udp.receive_buffer_size',
  'cef.max_message_size',
] as const

export const BOUNDARY_DAEMON_ACTIONS: Record<string, string> = {
  '100': 'session.created',
  '101': 'session.terminated',
  '102': 'session.expired',
  '200': 'auth.login',
  '201': 'auth.logout',
  '400': 'auth.failure',
  '401': 'auth.mfa_failure',
  '500': 'access.granted',
  '501': 'access.denied',
}

export const configSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    http: section({
      host: text('127.0.0.1'),
      port: port(8080),
      tls: tlsFiles,
      request_timeout: duration('60s'),
      max_connections: integer(10000, 1, 1_000_000),
    }),
    auth: section({
      api_keys: {
        type: 'array',
        default: [],
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'sha256', 'tenant', 'roles'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 128 },
            sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
            tenant: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' },
            roles: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              items: { type: 'string', enum: ['ingest', 'search', 'admin'] },
            },
          },
        },
      },
    }),
    ingest: section({
      max_batch_size: integer(1000, 1, 100000),
      max_payload_size: size('10MiB'),
      ack_mode: oneOf('durable', ['memory', 'durable', 'committed']),
      dedup_window_events: integer(500_000, 0, 20_000_000),
      dedup_window: duration('10m'),
      max_quarantine_raw: size('64KiB'),
      prepare_workers: integer(2, 0, 64),
    }),
    validation: section({
      max_event_age: duration('7d'),
      max_future: duration('5m'),
      strict_mode: flag(true),
    }),
    queue: section({
      type: oneOf('spool', ['memory', 'spool']),
      max_events: integer(200_000, 1, 100_000_000),
      max_bytes: size('256MiB'),
      overflow_policy: oneOf('reject', ['reject', 'drop_oldest', 'block']),
      block_timeout: duration('5s'),
      retry_after: duration('1s'),
      spool: section({
        dir: text(''),
        segment_size: size('64MiB'),
        max_bytes: size('4GiB'),
        fsync: flag(true),
        group_commit_delay: duration('2ms'),
      }),
    }),
    writer: section({
      batch_size: integer(20000, 1, 1_000_000),
      max_batch_size: integer(100000, 1, 1_000_000),
      flush_interval: duration('5s'),
      idle_flush: duration('250ms'),
      idle_flush_min_rows: integer(1, 1, 1_000_000),
      concurrency: integer(2, 1, 64),
      retry_initial_delay: duration('100ms'),
      retry_max_delay: duration('30s'),
    }),
    storage: section({
      mode: oneOf('embedded', ['embedded', 'server']),
      data_dir: text('./data'),
      server: section({
        url: text('http://127.0.0.1:8123'),
        username: text('default'),
        password: text(''),
        database: text('siem', { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
        ca_path: text(''),
        request_timeout: duration('30s'),
        idle_socket_ttl: duration('2500ms'),
      }),
    }),
    retention: section({
      events_days: integer(90, 1, 3650),
      critical_days: integer(365, 1, 3650),
      quarantine_days: integer(30, 1, 3650),
    }),
    cef: section({
      udp: section({
        enabled: flag(true),
        host: text('127.0.0.1'),
        port: port(5514),
        tenant: text('default'),
        receive_buffer_size: size('4MiB'),
      }),
      tcp: section({
        enabled: flag(true),
        host: text('127.0.0.1'),
        port: port(5515),
        tenant: text('default'),
        tls: tlsFiles,
        max_connections: integer(1000, 1, 100000),
        idle_timeout: duration('5m'),
      }),
      max_message_size: size('64KiB'),
      default_severity: integer(5, 1, 10),
      action_map: {
        type: 'object',
        default: BOUNDARY_DAEMON_ACTIONS,
        additionalProperties: { type: 'string', pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$' },
      },
    }),
    query: section({
      timeout: duration('30s'),
      max_rows: integer(10000, 1, 10_000_000),
      rate_limit_per_minute: integer(600, 0, 1_000_000),
    }),
    log: section({
      level: oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    }),
    shutdown_wait: duration('30s'),
  },
}
