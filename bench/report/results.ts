import type { CefResult } from '../stages/cef.js'
import type { CeilingResult } from '../stages/ceiling.js'
import type { EndToEndResult } from '../stages/end-to-end.js'
import type { FixedRateResult } from '../stages/fixed-rate.js'
import type { QueriesResult } from '../stages/queries.js'
import type { SoakResult } from '../stages/soak.js'
import type { StorageResult } from '../stages/storage.js'
import type { ProfileSummary } from './profile.js'

/** A stage that ran and returned figures, was skipped for a stated reason, or failed with an error. */
export type StageOutcome<T> = { status: 'ok'; figures: T } | { status: 'skipped'; reason: string } | { status: 'error'; error: string }

export interface MachineInfo {
  cores: number
  cpu_model: string
  memory_bytes: number
  os: string
  node: string
  engine_version: string
  chdb_version: string
  clickhouse_client_version: string
}

export interface ServerSettings {
  ack_mode: string
  queue_type: string
  writer_batch_size: number
  writer_flush_interval_ms: number
  writer_concurrency: number
  insert_format: string
}

export interface TargetCheck {
  id: string
  description: string
  target: string
  actual: string
  /** null when the stage behind it did not run. */
  met: boolean | null
  /** How far a missed target is missed, in words; empty when met or not measured. */
  miss: string
}

export interface BenchResults {
  date: string
  mode: 'quick' | 'full' | 'custom'
  command: string
  duration_s: number
  machine: MachineInfo
  server: ServerSettings
  /** Average cores that other processes on the machine used while the measuring stages ran. */
  other_load_cores: number
  note: string | undefined
  stages: {
    ceiling: StageOutcome<CeilingResult>
    end_to_end: StageOutcome<EndToEndResult>
    fixed_rates: StageOutcome<FixedRateResult[]>
    soak: StageOutcome<SoakResult>
    cef: StageOutcome<CefResult>
    queries: StageOutcome<QueriesResult>
    storage: StageOutcome<StorageResult>
  }
  targets: TargetCheck[]
  /** CPU profiles of the ingest servers (end-to-end, steady, soak), with --profile. */
  profiles: Array<{ server: string; summary: ProfileSummary }>
}

export function figuresOf<T>(outcome: StageOutcome<T>): T | undefined {
  return outcome.status === 'ok' ? outcome.figures : undefined
}
