import type { AckMode, OverflowPolicy } from '../queue/types.js'

/**
 * The resolved configuration: every key filled in, durations in
 * milliseconds and sizes in bytes. configs/config.example.yaml documents each
 * key with its default and unit.
 */
export interface Config {
  http: HttpConfig
  auth: AuthConfig
  ingest: IngestConfig
  validation: ValidationConfig
  queue: QueueConfig
  writer: WriterConfig
  storage: StorageConfig
  retention: RetentionConfig
  cef: CefConfig
  query: QueryConfig
  log: LogConfig
  shutdown_wait: number
}

export interface TlsFiles {
  enabled: boolean
  cert_path: string
  key_path: string
}

export interface HttpConfig {
  host: string
  port: number
  tls: TlsFiles
  /** Longest time to receive a whole request, headers and body, in milliseconds. */
  request_timeout: number
  max_connections: number
}

export type Role = 'ingest' | 'search' | 'admin'

export interface ApiKeyConfig {
  name: string
  /** Hex SHA-256 of the key; the key itself is never stored. */
  sha256: string
  tenant: string
  roles: Role[]
}

export interface AuthConfig {
  api_keys: ApiKeyConfig[]
}

export interface IngestConfig {
  max_batch_size: number
  max_payload_size: number
  ack_mode: AckMode
  /** Number of recent event ids remembered to skip client re-sends; 0 turns it off. */
  dedup_window_events: number
  dedup_window: number
  max_quarantine_raw: number
  /** Worker threads that decode, parse and validate HTTP bodies; 0 does it on the main thread. */
  prepare_workers: number
}

export interface ValidationConfig {
  max_event_age: number
  max_future: number
  strict_mode: boolean
}

export interface SpoolConfig {
  dir: string
  segment_size: number
  max_bytes: number
  fsync: boolean
  group_commit_delay: number
}

export interface QueueConfig {
  type: 'memory' | 'spool'
  max_events: number
  max_bytes: number
  overflow_policy: OverflowPolicy
  block_timeout: number
  retry_after: number
  spool: SpoolConfig
}

export interface WriterConfig {
  batch_size: number
  /** Largest insert when a backlog waits; batch_size when that is larger. */
  max_batch_size: number
  flush_interval: number
  /** Quiet time after which a partial batch whose oldest row is a second old is written; 0 turns it off. */
  idle_flush: number
  idle_flush_min_rows: number
  concurrency: number
  retry_initial_delay: number
  retry_max_delay: number
}

export interface ServerStorageConfig {
  url: string
  username: string
  password: string
  database: string
  ca_path: string
  request_timeout: number
  /** Kept below the server's keep_alive_timeout (3 s by default) so a closed socket is not reused. */
  idle_socket_ttl: number
}

export interface StorageConfig {
  mode: 'embedded' | 'server'
  data_dir: string
  server: ServerStorageConfig
}

export interface RetentionConfig {
  events_days: number
  critical_days: number
  quarantine_days: number
}

export interface CefListenerConfig {
  enabled: boolean
  host: string
  port: number
  tenant: string
}

export interface CefUdpConfig extends CefListenerConfig {
  receive_buffer_size: number
}

export interface CefTcpConfig extends CefListenerConfig {
  tls: TlsFiles
  max_connections: number
  idle_timeout: number
}

export interface CefConfig {
  udp: CefUdpConfig
  tcp: CefTcpConfig
  max_message_size: number
  /** Severity given to `Unknown` or unreadable CEF severities (1-10). */
  default_severity: number
  /** Action by CEF signature id or name; looked up before falling back to `act` or Name. */
  action_map: Record<string, string>
}

export interface QueryConfig {
  timeout: number
  max_rows: number
  rate_limit_per_minute: number
}

export interface LogConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}
