import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { sendCefLines } from '../../src/ingest/cef/sender.js'
import { countRows, freshDataDir, startTestApp, waitFor, type TestApp } from '../support/app.js'
import { AUTH_OVERRIDES, Api, KEYS, rfc3339 } from './support.js'

interface Entry {
  quarantine_id: string
  status: string
  error_code: string
  source_format: string
  reprocess_attempts: number
  reprocessed: boolean
  reprocessed_at: string | null
  reprocessed_event_id: string | null
}

interface Listing {
  entries: Entry[]
  count: number
  totals: { pending: number; exhausted: number; reprocessed: number }
}

interface Report {
  examined: number
  reprocessed: number
  still_invalid: number
  deferred: number
  entries: Array<{ quarantine_id: string; outcome: string; reprocess_attempts: number; event_id?: string }>
}

const dataDir = freshDataDir()
/** Strict validation with the default 5 minute future limit: the first run quarantines these events. */
const STRICT = { ...AUTH_OVERRIDES, validation: { strict_mode: true, max_future: '5m' } }
/** The changed configuration the second run starts with: the same events are now valid. */
const RELAXED = { ...AUTH_OVERRIDES, validation: { strict_mode: false, max_future: '2h' } }
const CEF_TCP = { cef: { tcp: { enabled: true, port: 0, tenant: 'alpha' } } }

let testApp: TestApp
let alpha: Api
let admin: Api
const futureIds = [randomUUID(), randomUUID(), randomUUID()]
const extraFieldIds = [randomUUID(), randomUUID()]

function event(id: string, offsetMicros: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event_id: id,
    timestamp: rfc3339(Date.now() * 1000 + offsetMicros),
    source: { product: 'openssh', host: 'gw-1' },
    action: 'auth.failure',
    outcome: 'failure',
    raw: `Failed password for root from 192.0.2.7 (${id})`,
    ...extra,
  })
}

async function postNdjson(key: string, lines: string[]): Promise<number> {
  const response = await fetch(`${testApp.url}/v1/events?ack=committed`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'x-api-key': key },
    body: lines.join('\n'),
  })
  await response.text()
  return response.status
}

async function listing(api: Api, query = ''): Promise<Listing> {
  const reply = await api.get<Listing>(`/v1/quarantine${query}`)
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  return reply.body
}

async function reprocess(api: Api, body: Record<string, unknown> = {}): Promise<Report> {
  const reply = await api.post<Report>('/v1/quarantine/reprocess', body)
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  return reply.body
}

before(async () => {
  testApp = await startTestApp({ ...STRICT, ...CEF_TCP }, dataDir)
  alpha = new Api(testApp.url, KEYS.alpha)
  admin = new Api(testApp.url, KEYS.admin)
  const hour = 3_600_000_000
  const lines = [
    ...futureIds.map((id) => event(id, hour)),
    ...extraFieldIds.map((id) => event(id, -60_000_000, { ticket: 'INC-1' })),
    '{"timestamp": "not json',
  ]
  assert.equal(await postNdjson(KEYS.alpha, lines), 400)
  assert.equal(await postNdjson(KEYS.beta, [event(randomUUID(), hour)]), 400)
  const tcp = testApp.addresses.cef.tcp as { host: string; port: number }
  const rt = Date.now() + 3_600_000
  const cefLine = `<38>Dec 10 06:55:46 ssh-gw-01 CEF:0|OpenBSD|OpenSSH|7.2|auth.failure|auth.failure|5|rt=${rt} dvchost=ssh-gw-01 src=192.0.2.9 outcome=failure msg=Failed password for admin`
  await sendCefLines([cefLine], { protocol: 'tcp', host: tcp.host, port: tcp.port, rebaseTime: false })
  await waitFor(() => countRows(testApp.app, 'events_quarantine', "tenant_id = 'alpha'"), (count) => count === 7)
})

after(async () => {
  await testApp.close()
})

describe('quarantine', () => {
  test('lists the tenant entries with filters', async () => {
    const all = await listing(alpha)
    assert.equal(all.count, 7)
    assert.deepEqual(all.totals, { pending: 7, exhausted: 0, reprocessed: 0 })
    assert.ok(all.entries.every((entry) => entry.status === 'pending' && entry.reprocess_attempts === 0))
    const future = await listing(alpha, '?error_code=timestamp_in_future')
    assert.equal(future.count, 4)
    const cef = await listing(alpha, '?source_format=cef')
    assert.equal(cef.count, 1)
    assert.equal(cef.entries[0]?.error_code, 'timestamp_in_future')
    const beta = await listing(new Api(testApp.url, KEYS.beta))
    assert.equal(beta.count, 1)
  })

  test('pages the listing with a cursor', async () => {
    const first = await alpha.get<Listing & { next_cursor: string | null }>('/v1/quarantine?limit=4')
    assert.equal(first.body.count, 4)
    assert.ok(first.body.next_cursor !== null)
    const second = await alpha.get<Listing & { next_cursor: string | null }>(`/v1/quarantine?limit=4&cursor=${first.body.next_cursor}`)
    assert.equal(second.body.count, 3)
    assert.equal(second.body.next_cursor, null)
    const seen = new Set([...first.body.entries, ...second.body.entries].map((entry) => entry.quarantine_id))
    assert.equal(seen.size, 7)
  })

  test('reprocess needs an admin key', async () => {
    const reply = await alpha.post('/v1/quarantine/reprocess', { tenant: 'alpha' })
    assert.equal(reply.status, 403)
  })

  test('reprocess under the same configuration counts an attempt', async () => {
    const report = await reprocess(admin, { tenant: 'alpha' })
    assert.equal(report.examined, 7)
    assert.equal(report.reprocessed, 0)
    assert.equal(report.still_invalid, 7)
    const after = await listing(alpha)
    assert.ok(after.entries.every((entry) => entry.reprocess_attempts === 1 && entry.status === 'pending'))
  })

  test('reprocess after a configuration change ingests the now valid entries', async () => {
    await testApp.close({ keepData: true })
    testApp = await startTestApp({ ...RELAXED, ...CEF_TCP }, dataDir)
    alpha = new Api(testApp.url, KEYS.alpha)
    admin = new Api(testApp.url, KEYS.admin)

    const dry = await reprocess(admin, { tenant: 'alpha', dry_run: true })
    assert.equal(dry.reprocessed, 6)
    assert.equal((await listing(alpha, '?status=reprocessed')).count, 0)

    const report = await reprocess(admin, { tenant: 'alpha' })
    assert.equal(report.examined, 7)
    assert.equal(report.reprocessed, 6)
    assert.equal(report.still_invalid, 1)
    assert.equal(report.deferred, 0)

    const done = await listing(alpha, '?status=reprocessed')
    assert.equal(done.count, 6)
    for (const entry of done.entries) {
      assert.equal(entry.reprocessed, true)
      assert.equal(entry.reprocess_attempts, 2)
      assert.ok(entry.reprocessed_at !== null)
      assert.ok(entry.reprocessed_event_id !== null)
      const stored = await alpha.get<{ event: { event_id: string } }>(`/v1/events/${entry.reprocessed_event_id}`)
      assert.equal(stored.status, 200, `event ${entry.reprocessed_event_id} of ${entry.quarantine_id}`)
    }
    const eventIds = done.entries.map((entry) => entry.reprocessed_event_id)
    for (const id of [...futureIds, ...extraFieldIds]) assert.ok(eventIds.includes(id), id)
    // The unknown field of the strict run now lands in metadata.
    const extra = await alpha.get<{ event: { metadata: Record<string, unknown> } }>(`/v1/events/${extraFieldIds[0]}`)
    assert.deepEqual(extra.body.event.metadata, { ticket: 'INC-1' })
    const cefEvent = done.entries.find((entry) => entry.source_format === 'cef')
    assert.ok(cefEvent !== undefined)
  })

  test('a reprocessed entry is not reprocessed again', async () => {
    const report = await reprocess(admin, { tenant: 'alpha' })
    assert.equal(report.examined, 1)
    assert.equal(report.reprocessed, 0)
    assert.equal(await countRows(testApp.app, 'events', "tenant_id = 'alpha'"), 6)
  })

  test('an entry that fails three attempts is exhausted', async () => {
    const listingNow = await listing(alpha, '?status=exhausted')
    assert.equal(listingNow.count, 1)
    assert.equal(listingNow.entries[0]?.reprocess_attempts, 3)
    assert.equal(listingNow.entries[0]?.error_code, 'malformed_json')
    const report = await reprocess(admin, { tenant: 'alpha' })
    assert.equal(report.examined, 0)
    const totals = (await listing(alpha)).totals
    assert.deepEqual(totals, { pending: 0, exhausted: 1, reprocessed: 6 })
  })

  test('an admin reprocesses another tenant by id', async () => {
    const betaEntries = (await listing(admin, '?tenant=beta')).entries
    assert.equal(betaEntries.length, 1)
    const report = await reprocess(admin, { tenant: 'beta', ids: [betaEntries[0]?.quarantine_id] })
    assert.equal(report.reprocessed, 1)
    assert.equal(await countRows(testApp.app, 'events', "tenant_id = 'beta'"), 1)
  })
})
