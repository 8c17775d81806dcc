import { randomUUID } from 'node:crypto'

/** One input event as a client posts it to /v1/events. */
export interface InputEvent {
  event_id: string
  timestamp: string
  source: { product: string; host: string }
  action: string
  outcome: 'success' | 'failure'
  severity: number
  target: string
  actor: { type: 'user'; id: string }
}

/**
 * Builds `count` valid events with fresh random event ids. Severities cycle
 * through 1..10, so about a third of them also reach events_critical
 * (severity >= 8) through its materialized view.
 */
export function makeEvents(count: number, product = 'resilience'): InputEvent[] {
  const timestamp = new Date().toISOString()
  return Array.from({ length: count }, (_, index) => ({
    event_id: randomUUID(),
    timestamp,
    source: { product, host: `host-${index % 16}` },
    action: index % 2 === 0 ? 'auth.login' : 'auth.failure',
    outcome: index % 2 === 0 ? 'success' : 'failure',
    severity: (index % 10) + 1,
    target: `target-${index}`,
    actor: { type: 'user', id: `user-${index % 100}` },
  }))
}
