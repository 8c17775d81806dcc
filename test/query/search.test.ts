import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import { startTestApp, type TestApp } from '../support/app.js'
import { AUTH_OVERRIDES, Api, KEYS, hasWord, loadCorpus, micros, rfc3339, searchAll, type CorpusEvent, type SearchPage } from './support.js'

const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname
const run = promisify(execFile)

let testApp: TestApp
let alpha: Api
let beta: Api
let admin: Api
let corpus: CorpusEvent[]
/** A range that covers the whole corpus. */
let range: { start: string; end: string }
let betaIds: string[]

before(async () => {
  testApp = await startTestApp(AUTH_OVERRIDES)
  alpha = new Api(testApp.url, KEYS.alpha)
  beta = new Api(testApp.url, KEYS.beta)
  admin = new Api(testApp.url, KEYS.admin)
  const loaded = loadCorpus()
  corpus = loaded.events
  range = { start: rfc3339(loaded.lastHour - 6 * 3_600_000_000), end: rfc3339(loaded.lastHour) }
  await alpha.ingest(loaded.lines)
  // The second tenant's events mention the same words and addresses as the first tenant's.
  const betaEvents = Array.from({ length: 20 }, (_unused, index) => ({
    event_id: randomUUID(),
    timestamp: rfc3339(loaded.lastHour - (index + 1) * 60_000_000),
    source: { product: 'openssh', host: 'beta-gw' },
    action: 'auth.failure',
    outcome: 'failure',
    severity: 5,
    actor: { ip_address: '203.0.113.212' },
    raw: `beta sshd: Failed password for webmaster from 203.0.113.212 port ${4000 + index}`,
    metadata: { pid: 24200, port: 4000 + index },
  }))
  betaIds = betaEvents.map((event) => event.event_id)
  await beta.ingest(betaEvents.map((event) => JSON.stringify(event)))
})

after(async () => {
  await testApp.close()
})

async function search(api: Api, body: Record<string, unknown>): Promise<SearchPage> {
  const reply = await api.post<SearchPage>('/v1/search', { time_range: range, ...body })
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  return reply.body
}

function ids(events: Array<{ event_id: string }>): string[] {
  return events.map((event) => event.event_id).sort()
}

describe('search on the corpus', () => {
  test('action auth.failure gives 523', async () => {
    const page = await search(alpha, { filters: [{ field: 'action', op: 'eq', value: 'auth.failure' }], limit: 1000 })
    assert.equal(page.count, 523)
    assert.equal(page.has_more, false)
    assert.equal(page.next_cursor, null)
    assert.ok(page.events.every((event) => event['action'] === 'auth.failure'))
  })

  test('free text webmaster returns exactly the events with that word', async () => {
    const page = await search(alpha, { text: 'webmaster', limit: 1000 })
    const expected = corpus.filter((event) => hasWord(event.raw, 'webmaster')).map((event) => event.event_id).sort()
    assert.ok(expected.length > 0)
    assert.deepEqual(ids(page.events), expected)
  })

  test('free text with separators matches the exact phrase', async () => {
    const phrase = 'Invalid user webmaster from 203.0.113.212'
    const page = await search(alpha, { text: phrase, limit: 1000 })
    const expected = corpus.filter((event) => event.raw.includes(phrase)).map((event) => event.event_id).sort()
    assert.ok(expected.length > 0)
    assert.deepEqual(ids(page.events), expected)
  })

  test('free text ignore_case matches other cases', async () => {
    const exact = await search(alpha, { text: 'INVALID USER', limit: 1000 })
    assert.equal(exact.count, 0)
    const folded = await search(alpha, { text: 'INVALID USER', ignore_case: true, limit: 1000 })
    const expected = corpus.filter((event) => /(^|[^A-Za-z0-9])invalid user($|[^A-Za-z0-9])/i.test(event.raw)).length
    assert.ok(expected > 0)
    assert.equal(folded.count, expected)
  })

  test('actor.ip_address filters', async () => {
    const address = '203.0.113.212'
    const page = await search(alpha, { filters: [{ field: 'actor.ip_address', op: 'eq', value: address }], limit: 1000 })
    const expected = corpus.filter((event) => event.actor?.ip_address === address).map((event) => event.event_id).sort()
    assert.ok(expected.length > 0)
    assert.deepEqual(ids(page.events), expected)
    const prefix = await search(alpha, { filters: [{ field: 'actor.ip_address', op: 'prefix', value: '203.0.113.' }], limit: 2000 })
    assert.equal(prefix.count, corpus.filter((event) => event.actor?.ip_address?.startsWith('203.0.113.') === true).length)
  })

  test('metadata.port and metadata.pid filter', async () => {
    const withPort = corpus.filter((event) => typeof event.metadata['port'] === 'number')
    const port = withPort[0]?.metadata['port'] as number
    const byPort = await search(alpha, { filters: [{ field: 'metadata.port', op: 'eq', value: port }], limit: 1000 })
    assert.deepEqual(ids(byPort.events), corpus.filter((event) => event.metadata['port'] === port).map((event) => event.event_id).sort())
    const high = await search(alpha, { filters: [{ field: 'metadata.port', op: 'gte', value: 50000 }], limit: 2000 })
    assert.equal(high.count, corpus.filter((event) => typeof event.metadata['port'] === 'number' && (event.metadata['port'] as number) >= 50000).length)
    const pid = corpus[0]?.metadata['pid'] as number
    // A query string sends every value as text; a numeric text matches the JSON number.
    const byPid = await alpha.get<SearchPage>(
      `/v1/search?start=${encodeURIComponent(range.start)}&end=${encodeURIComponent(range.end)}&limit=1000&filter=${encodeURIComponent(`metadata.pid:eq:${pid}`)}`,
    )
    assert.equal(byPid.status, 200, JSON.stringify(byPid.body))
    assert.deepEqual(ids(byPid.body.events), corpus.filter((event) => event.metadata['pid'] === pid).map((event) => event.event_id).sort())
  })

  test('in, neq and severity comparisons filter', async () => {
    const actions = ['auth.lockout', 'auth.retry_limit']
    const inPage = await search(alpha, { filters: [{ field: 'action', op: 'in', value: actions }], limit: 100 })
    assert.equal(inPage.count, 10)
    const neq = await search(alpha, {
      filters: [
        { field: 'action', op: 'neq', value: 'auth.failure' },
        { field: 'severity', op: 'gte', value: 8 },
      ],
      limit: 100,
    })
    assert.equal(neq.count, corpus.filter((event) => event.action !== 'auth.failure' && event.severity >= 8).length)
    const outcome = await search(alpha, { filters: [{ field: 'outcome', op: 'eq', value: 'success' }], limit: 2000 })
    assert.equal(outcome.count, corpus.filter((event) => event.outcome === 'success').length)
  })

  test('paging with the cursor returns each event once, in order', async () => {
    for (const sort of ['desc', 'asc'] as const) {
      const { events, pages } = await searchAll(alpha, { time_range: range, sort, limit: 137, fields: ['action'] })
      assert.equal(events.length, corpus.length, sort)
      assert.equal(pages, Math.ceil(corpus.length / 137), sort)
      assert.equal(new Set(events.map((event) => event.event_id)).size, corpus.length, sort)
      assert.deepEqual(ids(events), ids(corpus), sort)
      for (let index = 1; index < events.length; index++) {
        const previous = micros((events[index - 1] as { timestamp: string }).timestamp)
        const current = micros((events[index] as { timestamp: string }).timestamp)
        assert.ok(sort === 'desc' ? previous >= current : previous <= current, `${sort} order broken at ${index}`)
      }
    }
  })

  test('cursor of another query is rejected', async () => {
    const first = await search(alpha, { limit: 10 })
    assert.ok(first.next_cursor !== null)
    const reply = await alpha.post('/v1/search', { time_range: range, limit: 10, text: 'sshd', cursor: first.next_cursor })
    assert.equal(reply.status, 400)
    assert.equal((reply.body['error'] as { code: string }).code, 'SIEM_ERR_QUERY_INVALID')
  })

  test('results have the canonical nested shape', async () => {
    const page = await search(alpha, { filters: [{ field: 'action', op: 'eq', value: 'auth.lockout' }], sort: 'asc' })
    const sent = corpus.filter((event) => event.action === 'auth.lockout').sort((a, b) => micros(a.timestamp) - micros(b.timestamp))
    const first = page.events[0] as Record<string, unknown>
    const original = sent[0] as CorpusEvent
    assert.equal(first['event_id'], original.event_id)
    assert.equal(micros(first['timestamp'] as string), micros(original.timestamp))
    assert.deepEqual(first['source'], original.source)
    assert.deepEqual(first['actor'], original.actor)
    assert.deepEqual(first['metadata'], original.metadata)
    assert.equal(first['raw'], original.raw)
    assert.equal(first['severity'], original.severity)
  })

  test('fields projects the response', async () => {
    const page = await search(alpha, { limit: 3, fields: ['actor.ip_address', 'metadata.pid'] })
    for (const event of page.events) {
      assert.deepEqual(Object.keys(event).sort(), ['actor', 'event_id', 'metadata', 'timestamp'].filter((key) => key !== 'actor' || event['actor'] !== undefined))
      assert.deepEqual(Object.keys(event['metadata'] as object), ['pid'])
    }
  })

  test('GET search takes the same options', async () => {
    const query = new URLSearchParams({ start: range.start, end: range.end, filter: 'action:eq:auth.failure', limit: '1000', fields: 'action' })
    const reply = await alpha.get<SearchPage>(`/v1/search?${query}`)
    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    assert.equal(reply.body.count, 523)
  })

  test('limit above the cap is refused', async () => {
    const reply = await alpha.post('/v1/search', { limit: 10_001 })
    assert.equal(reply.status, 400)
  })
})

describe('events by id', () => {
  test('returns one event of the tenant', async () => {
    const original = corpus[5] as CorpusEvent
    const reply = await alpha.get<{ event: Record<string, unknown> }>(`/v1/events/${original.event_id}`)
    assert.equal(reply.status, 200)
    assert.equal(reply.body.event['event_id'], original.event_id)
    assert.equal(reply.body.event['raw'], original.raw)
  })

  test('an id of another tenant is not found', async () => {
    const reply = await beta.get(`/v1/events/${(corpus[5] as CorpusEvent).event_id}`)
    assert.equal(reply.status, 404)
    assert.equal((reply.body['error'] as { code: string }).code, 'SIEM_ERR_NOT_FOUND')
    const own = await beta.get(`/v1/events/${betaIds[0]}`)
    assert.equal(own.status, 200)
  })

  test('a malformed id is a 400', async () => {
    const reply = await alpha.get(`/v1/events/${encodeURIComponent("x' OR 1=1 --")}`)
    assert.equal(reply.status, 400)
  })
})

describe('tenant isolation', () => {
  test('search of the second tenant sees only its own events', async () => {
    const all = await search(beta, { limit: 1000 })
    assert.deepEqual(ids(all.events), [...betaIds].sort())
    const text = await search(beta, { text: 'webmaster', limit: 1000 })
    assert.equal(text.count, 20)
    const byAlphaId = await search(beta, { filters: [{ field: 'event_id', op: 'in', value: corpus.slice(0, 50).map((event) => event.event_id) }] })
    assert.equal(byAlphaId.count, 0)
  })

  test('aggregate of the second tenant counts only its own events', async () => {
    const reply = await beta.post<{ aggregations: Array<Record<string, unknown>> }>('/v1/aggregate', {
      time_range: range,
      aggregations: [{ type: 'count' }, { type: 'top', field: 'actor.ip_address' }],
    })
    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    assert.equal(reply.body.aggregations[0]?.['value'], 20)
    assert.deepEqual(reply.body.aggregations[1]?.['buckets'], [{ key: '203.0.113.212', count: 20 }])
  })

  test('a non-admin key cannot name another tenant', async () => {
    const reply = await beta.post('/v1/search', { tenant: 'alpha' })
    assert.equal(reply.status, 403)
    const byId = await beta.get(`/v1/events/${(corpus[0] as CorpusEvent).event_id}?tenant=alpha`)
    assert.equal(byId.status, 403)
  })

  test('an admin key may name another tenant', async () => {
    const page = await search(admin, { tenant: 'alpha', filters: [{ field: 'action', op: 'eq', value: 'auth.failure' }], limit: 1000 })
    assert.equal(page.count, 523)
    const own = await search(admin, { limit: 10 })
    assert.equal(own.count, 0)
  })

  test('a missing or unknown key is a 401', async () => {
    assert.equal((await new Api(testApp.url, undefined).post('/v1/search', {})).status, 401)
    assert.equal((await new Api(testApp.url, 'not-a-key').get('/v1/stats')).status, 401)
  })
})

describe('siem search', () => {
  async function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(process.execPath, [CLI, 'search', '--url', testApp.url, '--start', range.start, '--end', range.end, ...args], {
      env: { ...process.env, SIEM_API_KEY: KEYS.alpha },
    })
  }

  test('prints NDJSON of every page with --all', async () => {
    const { stdout, stderr } = await cli('--filter', 'action:eq:auth.failure', '--limit', '200', '--all', '--format', 'ndjson')
    const lines = stdout.trim().split('\n')
    assert.equal(lines.length, 523)
    assert.ok(lines.every((line) => (JSON.parse(line) as { action: string }).action === 'auth.failure'))
    assert.equal(stderr, '')
  })

  test('prints a table and the next cursor', async () => {
    const { stdout, stderr } = await cli('webmaster', '--limit', '2')
    const lines = stdout.trim().split('\n')
    assert.equal(lines.length, 4)
    assert.match(lines[0] as string, /^timestamp\s+source\.product\s+source\.host\s+action/)
    assert.match(stderr, /--cursor \S+/)
  })

  test('prints JSON with a projection', async () => {
    const { stdout } = await cli('--fields', 'actor.ip_address', '--filter', 'actor.ip_address:eq:203.0.113.212', '--limit', '1000', '--format', 'json')
    const events = JSON.parse(stdout) as Array<{ actor: { ip_address: string } }>
    assert.equal(events.length, corpus.filter((event) => event.actor?.ip_address === '203.0.113.212').length)
    assert.ok(events.every((event) => event.actor.ip_address === '203.0.113.212'))
  })

  test('reports a bad filter as a usage error', async () => {
    await assert.rejects(cli('--filter', 'action'), (err: { code?: number; stderr?: string }) => err.code === 2 && /field:op:value/.test(err.stderr ?? ''))
  })
})
