import type { Registry } from 'prom-client'
import type { CefConfig, CefTcpConfig, CefUdpConfig } from '../../config/types.js'
import type { Logger } from '../../logger.js'
import type { AckMode } from '../../queue/types.js'
import type { Ingestor } from '../types.js'

/** Options shared by the UDP and TCP CEF listeners. */
export interface CefListenerOptions<T extends CefUdpConfig | CefTcpConfig> {
  /** The listener's own section: `cef.udp` or `cef.tcp`. */
  config: T
  /** The whole `cef` section: message size, default severity, action map. */
  cef: CefConfig
  ingestor: Ingestor
  logger: Logger
  /** Registry the `siem_cef_*` metrics are registered on. */
  registry: Registry
  /** When an ingest call resolves; `ingest.ack_mode` of the configuration. */
  ackMode: AckMode
  /** Messages per ingest call. @default 500 */
  batchSize?: number
  /** Milliseconds a message may wait for its batch to fill. @default 5 */
  batchDelayMs?: number
  /** Ingest calls pending at once per connection (TCP) or sender address (UDP). @default 4 */
  maxInFlightBatches?: number
  /** Milliseconds `close()` waits for pending messages to be ingested before dropping them. @default 10000 */
  closeTimeoutMs?: number
}

export const LISTENER_DEFAULTS = {
  batchSize: 500,
  batchDelayMs: 5,
  maxInFlightBatches: 4,
  closeTimeoutMs: 10_000,
} as const

export interface ResolvedBatchOptions {
  maxBatch: number
  maxDelayMs: number
  maxInFlight: number
}

export function resolveBatchOptions(options: CefListenerOptions<CefUdpConfig | CefTcpConfig>): ResolvedBatchOptions {
  return {
    maxBatch: options.batchSize ?? LISTENER_DEFAULTS.batchSize,
    maxDelayMs: options.batchDelayMs ?? LISTENER_DEFAULTS.batchDelayMs,
    maxInFlight: options.maxInFlightBatches ?? LISTENER_DEFAULTS.maxInFlightBatches,
  }
}

/**
 * Waits for `work` up to `timeoutMs`; on timeout calls `onTimeout` and waits
 * for `work` again, which must then settle promptly.
 */
export async function settleWithin(work: Promise<unknown>, timeoutMs: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = await Promise.race([
    work.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs)
      timer.unref()
    }),
  ])
  clearTimeout(timer)
  if (timedOut) {
    onTimeout()
    await work
  }
}
