import { loadConfig } from '../../src/config/load.js'
import type { RunningServer } from '../context.js'

/** Flush interval of the server's default configuration, in milliseconds. */
export function defaultFlushIntervalMs(): number {
  return loadConfig({ env: {} }).writer.flush_interval
}

/** No growth of the stored count for this long means the rest is late or lost: three flush intervals and 5 s. */
export function quietPeriodMs(): number {
  return defaultFlushIntervalMs() * 3 + 5000
}

/** Longest wait for a backlog to drain after a stage, in milliseconds. */
export const DRAIN_CAP_MS = 15 * 60 * 1000

/**
 * Waits until GET /health reports an empty queue, so that one stage's
 * backlog does not slow the next. Resolves with the seconds it waited, or
 * undefined when the queue was still not empty after `capMs`.
 */
export async function waitForEmptyQueue(server: RunningServer, capMs = DRAIN_CAP_MS): Promise<number | undefined> {
  const started = Date.now()
  while (Date.now() - started < capMs) {
    const response = await server.http.send({ method: 'GET', path: '/health', timeoutMs: 30_000 })
    const health = JSON.parse(response.body) as { queue?: { depth_events?: number } }
    if ((health.queue?.depth_events ?? 0) === 0) return (Date.now() - started) / 1000
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return undefined
}
