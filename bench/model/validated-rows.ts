import { randomUUID } from 'node:crypto'
import { loadConfig } from '../../src/config/load.js'
import type { EventRow } from '../../src/schema/event.js'
import { nowMicros } from '../../src/schema/timestamp.js'
import { EventValidator } from '../../src/schema/validate.js'
import { EventGenerator } from './js-generator.js'

/**
 * Generates `batches` batches of `batchSize` events from the event model,
 * each with a fresh id, and validates them into the `events` rows the
 * server would store, with the default validation settings.
 */
export function generateRowBatches(seed: number, batches: number, batchSize: number): EventRow[][] {
  const generator = new EventGenerator(seed)
  const validator = new EventValidator(loadConfig({ env: {} }).validation)
  const now = Date.now()
  const pool: EventRow[][] = []
  for (let b = 0; b < batches; b++) {
    const rows: EventRow[] = []
    for (let i = 0; i < batchSize; i++) {
      const value = { event_id: randomUUID(), ...generator.next(now, 60_000) }
      const result = validator.validate({ value, rawText: '', tenantId: generator.nextTenant(), receivedAt: nowMicros() })
      if (!result.ok) throw new Error(`generated event is invalid: ${JSON.stringify(result.errors)}`)
      rows.push(result.row)
    }
    pool.push(rows)
  }
  return pool
}
