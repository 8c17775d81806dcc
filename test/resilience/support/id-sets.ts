import assert from 'node:assert/strict'

/** What a client knows about the event ids it sent, and what ClickHouse holds. */
export interface DeliveryInput {
  sent: ReadonlySet<string>
  acknowledged: ReadonlySet<string>
  /** Ids of requests rejected with 429 or 503, which the server must not have kept. */
  rejected?: ReadonlySet<string>
  /** Rows per event_id in the table. */
  stored: ReadonlyMap<string, number>
}

export interface DeliveryReport {
  /** Acknowledged and not stored. */
  lost: string[]
  /** Stored and never sent. */
  unknown: string[]
  /** Stored more than once, with the row count. */
  duplicated: Array<[string, number]>
  /** Rejected with 429 or 503, stored anyway. */
  rejectedButStored: string[]
  /** Sent, not acknowledged (the request failed in transit), stored: allowed. */
  storedUnacknowledged: number
}

/** Compares the sets: acknowledged ⊆ stored ⊆ sent, every count 1, nothing rejected stored. */
export function compareDelivery(input: DeliveryInput): DeliveryReport {
  const report: DeliveryReport = { lost: [], unknown: [], duplicated: [], rejectedButStored: [], storedUnacknowledged: 0 }
  for (const id of input.acknowledged) {
    if (!input.stored.has(id)) report.lost.push(id)
  }
  for (const [id, count] of input.stored) {
    if (!input.sent.has(id)) report.unknown.push(id)
    if (count !== 1) report.duplicated.push([id, count])
    if (input.rejected?.has(id) === true) report.rejectedButStored.push(id)
    if (input.sent.has(id) && !input.acknowledged.has(id)) report.storedUnacknowledged++
  }
  return report
}

/** Figures of a comparison as `name=value` pairs, for logs and the chaos report. */
export function describeDelivery(input: DeliveryInput, report: DeliveryReport): string {
  return [
    `sent=${input.sent.size}`,
    `acknowledged=${input.acknowledged.size}`,
    `rejected=${input.rejected?.size ?? 0}`,
    `stored=${input.stored.size}`,
    `stored_unacknowledged=${report.storedUnacknowledged}`,
    `lost=${report.lost.length}`,
    `duplicated=${report.duplicated.length}`,
    `unknown=${report.unknown.length}`,
    `rejected_but_stored=${report.rejectedButStored.length}`,
  ].join(' ')
}

/** Fails with the first few ids of each kind when anything was lost, duplicated, invented or kept after a rejection. */
export function assertExactlyOnce(input: DeliveryInput, report: DeliveryReport = compareDelivery(input)): void {
  const figures = describeDelivery(input, report)
  assert.deepEqual(report.lost.slice(0, 5), [], `acknowledged events missing from ClickHouse (${figures})`)
  assert.deepEqual(report.duplicated.slice(0, 5), [], `events stored more than once (${figures})`)
  assert.deepEqual(report.unknown.slice(0, 5), [], `stored events that were never sent (${figures})`)
  assert.deepEqual(report.rejectedButStored.slice(0, 5), [], `rejected events stored anyway (${figures})`)
}

/** True when the report shows no loss, duplicate, unknown or rejected-but-stored id. */
export function deliveredExactlyOnce(report: DeliveryReport): boolean {
  return report.lost.length === 0 && report.duplicated.length === 0 && report.unknown.length === 0 && report.rejectedButStored.length === 0
}
