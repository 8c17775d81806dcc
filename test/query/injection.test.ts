import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { countRows, startTestApp, type TestApp } from '../support/app.js'
import { AUTH_OVERRIDES, Api, KEYS, rfc3339, type SearchPage } from './support.js'

/** Values that would change a query if they were pasted into SQL. */
const HOSTILE = [
  "' OR 1=1 --",
  "x' OR '1'='1",
  "'); DROP TABLE events; --",
  'auth.failure FORMAT JSON',
  "auth.failure' FORMAT TabSeparated --",
  "auth.failure' SETTINGS readonly = 0 --",
  'auth.failure /* comment */',
  '\\',
  "\\'",
  '{p0:String}',
  '{p1:UInt32}',
  '%',
  '_',
  '.*',
  '(?i)AUTH',
  'line\nbreak',
  'ａｕｔｈ．ｆａｉｌｕｒｅ',
  "\u202e' OR 1=1",
  '🔥 OR 1=1',
  '\u0000',
]

/** Event whose fields hold the hostile text itself, so an exact search must find it and nothing else. */
const TRICKY_NAME = "o'brien \"x\" -- ; FORMAT JSON SETTINGS readonly = 0 {p0:String} \\ 密码"
const TRICKY_RAW = "login by o'brien: ' OR 1=1 -- FORMAT JSON пароль ✓"

let testApp: TestApp
let alpha: Api
let admin: Api
let trickyId: string
let total: number

before(async () => {
  testApp = await startTestApp(AUTH_OVERRIDES)
  alpha = new Api(testApp.url, KEYS.alpha)
  admin = new Api(testApp.url, KEYS.admin)
  const now = Date.now() * 1000
  const plain = Array.from({ length: 30 }, (_unused, index) => ({
    timestamp: rfc3339(now - (index + 1) * 60_000_000),
    source: { product: 'openssh', host: 'gw-1' },
    action: 'auth.failure',
    outcome: 'failure',
    actor: { name: `user${index}`, ip_address: '192.0.2.10' },
    raw: `Failed password for user${index} from 192.0.2.10`,
    metadata: { pid: 100 + index },
  }))
  trickyId = randomUUID()
  const tricky = {
    event_id: trickyId,
    timestamp: rfc3339(now - 30_000_000),
    source: { product: 'openssh' },
    action: 'auth.login',
    outcome: 'success',
    actor: { name: TRICKY_NAME },
    raw: TRICKY_RAW,
    metadata: { "we'ird key": "va'lue", pid: 7 },
  }
  const lines = [...plain, tricky].map((event) => JSON.stringify(event))
  total = lines.length
  await alpha.ingest(lines)
  // The other tenant's events must never show up, whatever the parameters contain.
  await new Api(testApp.url, KEYS.beta).ingest(lines.map((line) => line.replace(trickyId, randomUUID())))
})

after(async () => {
  await testApp.close()
})

interface Outcome {
  status: number
  ids: string[]
  code: string | undefined
}

async function searchStatus(body: Record<string, unknown>): Promise<Outcome> {
  // One hour contains every event and is scanned in one statement, which keeps the hundreds of requests fast.
  const reply = await alpha.post<SearchPage>('/v1/search', { time_range: { start: 'now-1h' }, ...body })
  return { status: reply.status, ids: (reply.body.events ?? []).map((event) => event.event_id), code: reply.body.error?.code }
}

/**
 * A hostile request must be a clear 400 (or 403), or succeed with no rows
 * except the one event that contains hostile text itself, and only when its
 * fields really contain the value: never other rows, never a 500.
 */
function assertRefusedOrEmpty(result: Outcome, what: string, value: string): void {
  if (result.status === 200) {
    const needle = value.toLowerCase()
    const holdsValue = [TRICKY_NAME, TRICKY_RAW, "va'lue"].some((text) => text.toLowerCase().includes(needle))
    assert.deepEqual(result.ids, holdsValue ? result.ids.filter((id) => id === trickyId) : [], `${what} returned rows`)
    return
  }
  assert.ok(result.status === 400 || result.status === 403, `${what} answered ${result.status}`)
  assert.ok(result.code?.startsWith('SIEM_ERR_'), `${what} has no error code`)
}

describe('injection attempts', () => {
  test('hostile filter values match nothing', async () => {
    for (const value of HOSTILE) {
      for (const field of ['action', 'actor.name', 'raw', 'metadata.pid', "metadata.we'ird key"]) {
        for (const op of ['eq', 'contains', 'prefix', 'in']) {
          const filter = { field, op, value: op === 'in' ? [value] : value }
          assertRefusedOrEmpty(await searchStatus({ filters: [filter] }), `${field} ${op} ${JSON.stringify(value)}`, value)
        }
      }
    }
  })

  test('hostile text matches nothing', async () => {
    for (const text of HOSTILE) {
      assertRefusedOrEmpty(await searchStatus({ text }), `text ${JSON.stringify(text)}`, text)
      assertRefusedOrEmpty(await searchStatus({ text, ignore_case: true }), `text ${JSON.stringify(text)} ignoring case`, text)
    }
  })

  test('hostile values in other parameters are refused', async () => {
    const bodies: Array<Record<string, unknown>> = [
      { filters: [{ field: "action' OR '1'='1", op: 'eq', value: 'x' }] },
      { filters: [{ field: 'tenant_id', op: 'eq', value: 'beta' }] },
      { filters: [{ field: 'source_product', op: 'eq', value: 'openssh' }] },
      { filters: [{ field: 'action', op: 'eq; DROP TABLE events', value: 'x' }] },
      { filters: [{ field: 'action', op: 'eq', value: { $ne: 1 } }] },
      { filters: [{ field: 'severity', op: 'gt', value: '1 OR 1=1' }] },
      { filters: [{ field: 'event_id', op: 'eq', value: "' OR 1=1 --" }] },
      { filters: [{ field: 'timestamp', op: 'gt', value: "now-1h' OR 1=1" }] },
      { filters: [{ field: 'outcome', op: 'eq', value: "success' OR '1'='1" }] },
      { filters: [{ field: 'metadata.', op: 'eq', value: 'x' }] },
      { sort: 'desc; DROP TABLE events' },
      { sort: 'timestamp' },
      { limit: '10 OR 1=1' },
      { limit: -1 },
      { limit: 1.5 },
      { fields: ['raw', 'tenant_id'] },
      { fields: ['event_id FROM system.tables --'] },
      { fields: 'action, (SELECT 1)' },
      { time_range: { start: "now-24h' OR 1=1 --" } },
      { time_range: { start: '2025-01-01T00:00:00Z; DROP TABLE events' } },
      { time_range: { end: 'now FORMAT JSON' } },
      { time_range: { start: 'now-24h', end: 'now', extra: 'SETTINGS readonly=0' } },
      { cursor: Buffer.from(JSON.stringify({ v: 1, q: 'x', s: 0, e: 1, t: 0, i: "' OR 1=1 --" })).toString('base64url') },
      { cursor: "' OR 1=1 --" },
      { tenant: "alpha' OR '1'='1" },
      { tenant: 'beta' },
      { settings: { readonly: 0 } },
      { format: 'TabSeparated' },
    ]
    for (const body of bodies) {
      const result = await searchStatus(body)
      assert.ok(result.status === 400 || result.status === 403, `${JSON.stringify(body)} answered ${result.status}`)
      assert.ok(result.code?.startsWith('SIEM_ERR_'), `${JSON.stringify(body)} has no error code`)
    }
  })

  test('hostile query strings are refused or empty', async () => {
    for (const value of HOSTILE.filter((item) => item !== '\u0000')) {
      const query = new URLSearchParams({ filter: `actor.name:eq:${value}`, text: value })
      const reply = await alpha.get<SearchPage>(`/v1/search?${query}`)
      const ids = (reply.body.events ?? []).map((event) => event.event_id)
      assertRefusedOrEmpty({ status: reply.status, ids, code: reply.body.error?.code }, `GET ${value}`, value)
    }
    const unknown = await alpha.get('/v1/search?limit=1&SETTINGS=readonly%3D0')
    assert.equal(unknown.status, 400)
  })

  test('an admin naming a hostile tenant is refused', async () => {
    const reply = await admin.post<SearchPage>('/v1/search', { tenant: "alpha' OR '1'='1" })
    assert.equal(reply.status, 400)
    const unicode = await admin.post<SearchPage>('/v1/search', { tenant: 'аlpha' })
    assert.equal(unicode.status, 400)
  })

  test('hostile event ids and aggregate parameters are refused', async () => {
    for (const id of ["' OR 1=1 --", `${trickyId}' OR '1'='1`, `${trickyId} FORMAT JSON`]) {
      const reply = await alpha.get(`/v1/events/${encodeURIComponent(id)}`)
      assert.equal(reply.status, 400, id)
    }
    const aggregations = [
      [{ type: 'top', field: "action) FROM events --" }],
      [{ type: 'group_by', fields: ['action', "1; DROP TABLE events"] }],
      [{ type: 'histogram', interval: '1h; DROP TABLE events' }],
      [{ type: 'count', name: "x' OR 1=1" }],
      [{ type: 'top', field: 'action', limit: '5 OR 1=1' }],
    ]
    for (const list of aggregations) {
      const reply = await alpha.post('/v1/aggregate', { aggregations: list })
      assert.equal(reply.status, 400, JSON.stringify(list))
    }
    const hostileFilter = await alpha.post<{ aggregations: Array<{ value: number }> }>('/v1/aggregate', {
      filters: [{ field: 'action', op: 'eq', value: "' OR 1=1 --" }],
      aggregations: [{ type: 'count' }],
    })
    assert.equal(hostileFilter.status, 200)
    assert.equal(hostileFilter.body.aggregations[0]?.value, 0)
  })

  test('hostile quarantine filters match nothing', async () => {
    for (const value of ["' OR 1=1 --", 'json FORMAT JSON']) {
      const query = new URLSearchParams({ error_code: value, source_format: value })
      const reply = await alpha.get<{ count: number }>(`/v1/quarantine?${query}`)
      assert.equal(reply.status, 200)
      assert.equal(reply.body.count, 0)
    }
    assert.equal((await alpha.get('/v1/quarantine?status=pending%27%20OR%201%3D1')).status, 400)
  })

  test('values with quotes and unicode match exactly their event', async () => {
    const byName = await alpha.post<SearchPage>('/v1/search', { filters: [{ field: 'actor.name', op: 'eq', value: TRICKY_NAME }] })
    assert.deepEqual(byName.body.events.map((event) => event.event_id), [trickyId])
    const byText = await alpha.post<SearchPage>('/v1/search', { text: "o'brien: ' OR 1=1 -- FORMAT JSON пароль" })
    assert.deepEqual(byText.body.events.map((event) => event.event_id), [trickyId])
    const byKey = await alpha.post<SearchPage>('/v1/search', { filters: [{ field: "metadata.we'ird key", op: 'eq', value: "va'lue" }] })
    assert.deepEqual(byKey.body.events.map((event) => event.event_id), [trickyId])
  })

  test('the tables are intact afterwards', async () => {
    assert.equal(await countRows(testApp.app, 'events', "tenant_id = 'alpha'"), total)
    const page = await alpha.post<SearchPage>('/v1/search', { limit: 1000 })
    assert.equal(page.body.count, total)
  })
})
