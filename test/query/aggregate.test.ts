import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, type TestApp } from '../support/app.js'
import { AUTH_OVERRIDES, Api, KEYS, MICROS_PER_HOUR, loadCorpus, micros, rfc3339, type CorpusEvent } from './support.js'

interface Aggregation {
  name: string
  type: string
  source: string
  value?: number
  buckets?: Array<{ key?: unknown; keys?: Record<string, unknown>; start?: string; count: number }>
  bands?: Array<{ band: string; count: number }>
}

interface AggregateReply {
  aggregations: Aggregation[]
  error?: { code: string }
}

let testApp: TestApp
let alpha: Api
let corpus: CorpusEvent[]
let lastHour: number

before(async () => {
  testApp = await startTestApp(AUTH_OVERRIDES)
  alpha = new Api(testApp.url, KEYS.alpha)
  const loaded = loadCorpus()
  corpus = loaded.events
  lastHour = loaded.lastHour
  await alpha.ingest(loaded.lines)
})

after(async () => {
  await testApp.close()
})

const DIMENSIONS = [
  { name: 'total', type: 'count' },
  { name: 'actions', type: 'top', field: 'action', limit: 50 },
  { name: 'products', type: 'top', field: 'source.product' },
  { name: 'outcomes', type: 'group_by', fields: ['action', 'outcome'], limit: 100 },
  { name: 'hours', type: 'histogram', interval: '1h' },
]

async function aggregate(body: Record<string, unknown>): Promise<Aggregation[]> {
  const reply = await alpha.post<AggregateReply>('/v1/aggregate', body)
  assert.equal(reply.status, 200, JSON.stringify(reply.body))
  return reply.body.aggregations
}

/** The data of each aggregation without the name of the table it came from. */
function numbers(aggregations: Aggregation[]): unknown[] {
  return aggregations.map(({ source: _source, ...rest }) => rest)
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

describe('aggregate', () => {
  test('rollup and events give the same numbers on an hour-aligned range', async () => {
    const time_range = { start: rfc3339(lastHour - 6 * MICROS_PER_HOUR), end: rfc3339(lastHour) }
    const fromRollup = await aggregate({ time_range, source: 'rollup', aggregations: DIMENSIONS })
    const fromEvents = await aggregate({ time_range, source: 'events', aggregations: DIMENSIONS })
    const automatic = await aggregate({ time_range, aggregations: DIMENSIONS })
    assert.ok(fromRollup.every((aggregation) => aggregation.source === 'rollup'))
    assert.ok(fromEvents.every((aggregation) => aggregation.source === 'events'))
    assert.ok(automatic.every((aggregation) => aggregation.source === 'rollup'))
    assert.deepEqual(numbers(fromRollup), numbers(fromEvents))
    assert.equal(fromRollup[0]?.value, 2000)
    const actions = countBy(corpus, (event) => event.action)
    assert.equal(fromRollup[1]?.buckets?.length, actions.size)
    for (const bucket of fromRollup[1]?.buckets ?? []) assert.equal(bucket.count, actions.get(String(bucket.key)), String(bucket.key))
  })

  test('rollup with filters matches events', async () => {
    const time_range = { start: rfc3339(lastHour - 6 * MICROS_PER_HOUR), end: rfc3339(lastHour) }
    const filters = [
      { field: 'action', op: 'prefix', value: 'auth.' },
      { field: 'outcome', op: 'in', value: ['failure', 'unknown'] },
    ]
    const fromRollup = await aggregate({ time_range, filters, source: 'rollup', aggregations: DIMENSIONS })
    const fromEvents = await aggregate({ time_range, filters, source: 'events', aggregations: DIMENSIONS })
    assert.deepEqual(numbers(fromRollup), numbers(fromEvents))
    const expected = corpus.filter((event) => event.action.startsWith('auth.') && event.outcome !== 'success').length
    assert.equal(fromRollup[0]?.value, expected)
  })

  test('a range with partial hours adds rollup and events', async () => {
    const start = lastHour - 3 * MICROS_PER_HOUR - 20 * 60_000_000
    const end = lastHour - 30 * 60_000_000
    const time_range = { start: rfc3339(start), end: rfc3339(end) }
    const mixed = await aggregate({ time_range, aggregations: DIMENSIONS })
    const fromEvents = await aggregate({ time_range, source: 'events', aggregations: DIMENSIONS })
    assert.ok(mixed.every((aggregation) => aggregation.source === 'rollup+events'))
    assert.deepEqual(numbers(mixed), numbers(fromEvents))
    const inRange = corpus.filter((event) => micros(event.timestamp) >= start && micros(event.timestamp) < end)
    assert.ok(inRange.length > 0)
    assert.ok(inRange.length < corpus.length)
    assert.equal(mixed[0]?.value, inRange.length)
  })

  test('rollup is refused when it cannot answer', async () => {
    const reply = await alpha.post<AggregateReply>('/v1/aggregate', {
      time_range: { start: rfc3339(lastHour - 6 * MICROS_PER_HOUR + 1), end: rfc3339(lastHour) },
      source: 'rollup',
      aggregations: [{ type: 'count' }],
    })
    assert.equal(reply.status, 400)
    const withText = await alpha.post<AggregateReply>('/v1/aggregate', {
      time_range: { start: rfc3339(lastHour - 6 * MICROS_PER_HOUR), end: rfc3339(lastHour) },
      text: 'webmaster',
      source: 'rollup',
      aggregations: [{ type: 'count' }],
    })
    assert.equal(withText.status, 400)
  })

  test('severity bands count every event', async () => {
    const [bands] = await aggregate({
      time_range: { start: rfc3339(lastHour - 6 * MICROS_PER_HOUR), end: rfc3339(lastHour) },
      aggregations: [{ type: 'severity_bands' }],
    })
    assert.equal(bands?.source, 'events')
    const band = (severity: number): string => {
      if (severity <= 3) return 'low'
      if (severity <= 5) return 'medium'
      if (severity <= 7) return 'high'
      return 'critical'
    }
    const expected = countBy(corpus, (event) => band(event.severity))
    for (const entry of bands?.bands ?? []) assert.equal(entry.count, expected.get(entry.band) ?? 0, entry.band)
    assert.equal(bands?.bands?.find((entry) => entry.band === 'critical')?.count, 3)
  })

  test('histogram of 15 minutes fills empty buckets', async () => {
    const start = lastHour - 6 * MICROS_PER_HOUR
    const [histogram] = await aggregate({
      time_range: { start: rfc3339(start), end: rfc3339(lastHour) },
      aggregations: [{ type: 'histogram', interval: '15m' }],
    })
    assert.equal(histogram?.source, 'events')
    assert.equal(histogram?.buckets?.length, 24)
    const expected = countBy(corpus, (event) => rfc3339(Math.floor(micros(event.timestamp) / 900_000_000) * 900_000_000))
    for (const bucket of histogram?.buckets ?? []) assert.equal(bucket.count, expected.get(String(bucket.start)) ?? 0, bucket.start)
  })

  test('top by a metadata key and with free text', async () => {
    const time_range = { start: rfc3339(lastHour - 6 * MICROS_PER_HOUR), end: rfc3339(lastHour) }
    const [pids, webmaster] = await aggregate({
      time_range,
      aggregations: [
        { name: 'pids', type: 'top', field: 'metadata.pid', limit: 1 },
        { name: 'count', type: 'count' },
      ],
      text: 'webmaster',
    })
    const matching = corpus.filter((event) => /(^|[^A-Za-z0-9])webmaster($|[^A-Za-z0-9])/.test(event.raw))
    assert.equal(webmaster?.value, matching.length)
    const top = [...countBy(matching, (event) => String(event.metadata['pid'])).entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]
    assert.deepEqual(pids?.buckets, [{ key: top?.[0], count: top?.[1] }])
  })

  test('stats cover the last 24 hours', async () => {
    const reply = await alpha.get<Record<string, unknown>>('/v1/stats')
    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    assert.equal(reply.body['total'], 2000)
    const actions = reply.body['actions'] as Array<{ key: string; count: number }>
    assert.deepEqual(actions.find((bucket) => bucket.key === 'auth.failure'), { key: 'auth.failure', count: 523 })
    const outcomes = reply.body['outcomes'] as Array<{ key: string; count: number }>
    assert.equal(outcomes.reduce((sum, bucket) => sum + bucket.count, 0), 2000)
    const sources = reply.body['sources'] as Record<string, string>
    assert.equal(sources['actions'], 'rollup+events')
    assert.equal(sources['severity_bands'], 'events')
  })

  test('bad aggregations are a 400', async () => {
    for (const aggregations of [[], [{ type: 'sum' }], [{ type: 'top', field: 'raw' }], [{ type: 'histogram', interval: '0s' }], [{ type: 'top', field: 'nope' }]]) {
      const reply = await alpha.post<AggregateReply>('/v1/aggregate', { aggregations })
      assert.equal(reply.status, 400, JSON.stringify(aggregations))
    }
  })
})
