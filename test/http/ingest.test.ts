import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { hashApiKey } from '../../src/http/auth.js'
import { countRows, queryRows, startTestApp, waitFor, type TestApp } from '../support/app.js'
import { errorCode, metricValue, postEvents, request, type JsonResponse } from './request.js'

const INGEST_KEY = 'ingest-key-for-tests'
const SEARCH_KEY = 'search-key-for-tests'
const MAX_PAYLOAD = 2 * 1024 * 1024

let app: TestApp
const testStarted = Date.now()

before(async () => {
  app = await startTestApp({
    auth: {
      api_keys: [
        { name: 'ingest', sha256: hashApiKey(INGEST_KEY), tenant: 'acme', roles: ['ingest'] },
        { name: 'search', sha256: hashApiKey(SEARCH_KEY), tenant: 'acme', roles: ['search'] },
      ],
    },
    ingest: { max_payload_size: MAX_PAYLOAD, max_batch_size: 1000 },
  })
})

after(async () => {
  await app.close()
})

const KEY = { 'x-api-key': INGEST_KEY }

function send(body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  return postEvents(app.url, body, { ...KEY, ...headers })
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0')
}

/**
 * Renders epoch microseconds as RFC 3339 in the given zone offset, with
 * `digits` fraction digits (nanoseconds `523` follow the microseconds).
 */
function rfc3339(micros: number, offsetMinutes: number, digits: number): string {
  const local = new Date(Math.floor(micros / 1000) + offsetMinutes * 60_000).toISOString().slice(0, 19)
  const nanos = `${pad(micros % 1_000_000, 6)}523`
  const fraction = digits === 0 ? '' : `.${nanos.slice(0, digits)}`
  const abs = Math.abs(offsetMinutes)
  const zone = offsetMinutes === 0 ? 'Z' : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  return local + fraction + zone
}

/** ClickHouse's DateTime64(6) text in UTC, built without the code under test. */
function clickHouseText(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${pad(micros % 1_000_000, 6)}`
}

const ZONES = [0, -420, 330, 60, -30]
const DIGITS = [6, 9, 4, 3, 0]
const ACTIONS = ['auth.login', 'auth.failure', 'session.created', 'network.scan']
const OUTCOMES = ['success', 'failure', 'unknown'] as const
const ACTOR_TYPES = ['user', 'process', 'service', 'system', 'unknown'] as const

interface Generated {
  input: Record<string, unknown>
  /** The stored row, except event_id when the server generates it and received_at. */
  expected: Record<string, unknown>
}

function generateEvent(index: number, baseMicros: number, runId: string): Generated {
  const digits = DIGITS[index % DIGITS.length] as number
  const offset = ZONES[index % ZONES.length] as number
  // Keep only the digits the chosen rendering can carry.
  const step = 10 ** (6 - Math.min(digits, 6))
  const micros = baseMicros + index * 317_001 - ((baseMicros + index * 317_001) % step)

  const hasId = index % 2 === 0
  const eventId = hasId ? `${runId}-${pad(index, 12)}` : undefined
  const raw = index % 3 === 0 ? undefined : `Apr 15 sshd[${index}]: "quoted" \\ back\tslash ünï 😀 ${index}`
  const metadata = index % 5 === 0 ? undefined : { index, nested: { list: [index, 'x'], flag: index % 2 === 0 } }
  const actorType = ACTOR_TYPES[index % ACTOR_TYPES.length] as string
  const ip = index % 2 === 0 ? `192.0.2.${index % 250}` : `2001:db8::${(index % 65535).toString(16)}`

  const input: Record<string, unknown> = {
    ...(eventId === undefined ? {} : { event_id: eventId }),
    timestamp: rfc3339(micros, offset, digits),
    source: { product: `product-${index % 7}`, host: `host-${index}`, instance_id: `inst-${index % 13}`, version: '1.2.3' },
    action: ACTIONS[index % ACTIONS.length],
    outcome: OUTCOMES[index % OUTCOMES.length],
    severity: (index % 10) + 1,
    actor: { type: actorType, id: `user-${index}`, name: `Ünïcödé ${index} 😀`, email: `u${index}@example.com`, ip_address: ip },
    target: `target-${index}`,
    ...(raw === undefined ? {} : { raw }),
    ...(metadata === undefined ? {} : { metadata }),
  }

  const expected: Record<string, unknown> = {
    tenant_id: 'acme',
    timestamp: clickHouseText(micros),
    source_product: `product-${index % 7}`,
    source_host: `host-${index}`,
    source_instance_id: `inst-${index % 13}`,
    source_version: '1.2.3',
    actor_type: actorType,
    actor_id: `user-${index}`,
    actor_name: `Ünïcödé ${index} 😀`,
    actor_email: `u${index}@example.com`,
    actor_ip: ip,
    action: ACTIONS[index % ACTIONS.length],
    target: `target-${index}`,
    outcome: OUTCOMES[index % OUTCOMES.length],
    severity: (index % 10) + 1,
    schema_version: '1.0.0',
    raw: raw ?? JSON.stringify(input),
    metadata: metadata === undefined ? '{}' : JSON.stringify(metadata),
    id_from_sender: hasId,
    ...(eventId === undefined ? {} : { event_id: eventId }),
  }
  return { input, expected }
}

function quarantineByRaw(raw: string): Promise<Array<{ error_code: string }>> {
  return queryRows<{ error_code: string }>(app.app, 'SELECT error_code FROM events_quarantine WHERE raw_event = {raw:String}', { raw })
}

/** Sends a known invalid event and waits until it is in quarantine, so every earlier write is visible. */
async function barrier(): Promise<void> {
  const marker = `barrier-${randomUUID()}`
  const response = await send({ events: [{ marker }] })
  assert.equal(response.status, 400)
  await waitFor(
    () => countRows(app.app, 'events_quarantine', `position(raw_event, '${marker}') > 0`),
    (count) => count === 1,
  )
}

describe('HTTP ingest of 10,000 events', () => {
  test('stores each exactly once, equal field by field', async () => {
    const runId = randomUUID().slice(0, 23)
    const baseMicros = (Date.now() - 3 * 3600_000) * 1000 + 123_457
    const generated = Array.from({ length: 10_000 }, (_, index) => generateEvent(index, baseMicros, runId))
    const batchesBefore = await metricValue(app.url, 'siem_writer_batches_total')

    const requests: Array<Promise<JsonResponse>> = []
    for (let start = 0; start < generated.length; start += 1000) {
      const events = generated.slice(start, start + 1000).map((entry) => entry.input)
      requests.push(send({ events }))
    }
    const responses = await Promise.all(requests)
    for (const [index, response] of responses.entries()) {
      assert.equal(response.status, 200, `request ${index}: ${response.text.slice(0, 300)}`)
      assert.equal(response.body['accepted'], 1000)
      assert.equal(response.body['quarantined'], 0)
      const ids = response.body['event_ids'] as string[]
      assert.equal(ids.length, 1000)
      for (const [offset, id] of ids.entries()) {
        const entry = generated[index * 1000 + offset] as Generated
        if (entry.expected['event_id'] === undefined) entry.expected['event_id'] = id
        else assert.equal(id, entry.expected['event_id'])
      }
    }

    await waitFor(() => countRows(app.app, 'events', "tenant_id = 'acme' AND source_version = '1.2.3'"), (n) => n >= 10_000, 60_000)
    const [totals] = await queryRows<{ rows: string; ids: string }>(
      app.app,
      "SELECT count() AS rows, uniqExact(event_id) AS ids FROM events WHERE source_version = '1.2.3'",
    )
    assert.equal(totals?.rows, '10000')
    assert.equal(totals?.ids, '10000')

    const sample = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9999]
    for (let i = 0; i < 90; i++) sample.push(Math.floor(Math.random() * 10_000))
    const wanted = sample.map((index) => (generated[index] as Generated).expected)
    const rows = await queryRows<Record<string, unknown>>(app.app, 'SELECT * FROM events WHERE event_id IN {ids:Array(UUID)}', {
      ids: wanted.map((row) => row['event_id']),
    })
    const byId = new Map(rows.map((row) => [row['event_id'], row]))
    const testEnded = Date.now()
    for (const expected of wanted) {
      const row = byId.get(expected['event_id'])
      assert.ok(row !== undefined, `row ${String(expected['event_id'])} is stored`)
      const { received_at: receivedAt, ...rest } = row
      assert.deepEqual(rest, expected)
      const receivedMs = Date.parse(`${String(receivedAt).replace(' ', 'T')}Z`)
      assert.ok(receivedMs >= testStarted - 1000, `received_at ${String(receivedAt)}`)
      assert.ok(receivedMs <= testEnded + 1000, `received_at ${String(receivedAt)}`)
    }

    const [critical] = await queryRows<{ c: string }>(
      app.app,
      "SELECT count() AS c FROM events_critical WHERE event_id IN (SELECT event_id FROM events WHERE source_version = '1.2.3')",
    )
    assert.equal(critical?.c, '3000', 'severities 8, 9 and 10 are copied')

    const batches = (await metricValue(app.url, 'siem_writer_batches_total')) - batchesBefore
    // Batches start at writer.batch_size (1000) rows and take up to
    // writer.max_batch_size (10,000) when a backlog waits, so 10,000 events
    // arrive in at least one insert and at most one per request and a few more.
    assert.ok(batches >= 1, `10,000 events in ${batches} batches`)
    assert.ok(batches <= 40, `10,000 events in ${batches} batches`)
  })

  test('skips a re-sent batch by event_id', async () => {
    const runId = randomUUID().slice(0, 23)
    const events = Array.from({ length: 20 }, (_, index) => generateEvent(index * 2, Date.now() * 1000 - 60_000_000, runId).input)
    const first = await send({ events })
    assert.equal(first.status, 200)
    const again = await send({ events })
    assert.equal(again.status, 200)
    assert.equal(again.body['accepted'], 0)
    assert.equal(again.body['duplicates'], 20)
    await barrier()
    assert.equal(await countRows(app.app, 'events', `startsWith(toString(event_id), '${runId}')`), 20)
  })
})

describe('HTTP ingest answers', () => {
  const now = (): string => new Date().toISOString()
  const valid = (tag: string): Record<string, unknown> => ({ timestamp: now(), source: { product: 'p' }, action: 'auth.login', target: tag })

  test('207 lists each invalid event and quarantines it in one batch', async () => {
    const tag = randomUUID()
    const events: unknown[] = []
    const invalidIndexes: number[] = []
    for (let index = 0; index < 500; index++) {
      if (index % 5 < 2) {
        invalidIndexes.push(index)
        const kind = index % 4
        if (kind === 0) events.push({ ...valid(`${tag}-${index}`), severity: 42 })
        else if (kind === 1) events.push({ timestamp: 'yesterday', source: { product: 'p' }, action: 'x', target: `${tag}-${index}` })
        else if (kind === 2) events.push({ ...valid(`${tag}-${index}`), action: 'Not.Valid' })
        else events.push({ source: { product: 'p' }, action: 'auth.login', target: `${tag}-${index}` })
      } else {
        events.push(valid(tag))
      }
    }
    const batchesBefore = await metricValue(app.url, 'siem_writer_batches_total')
    const response = await send({ events })
    assert.equal(response.status, 207)
    assert.equal(response.body['accepted'], 300)
    assert.equal(response.body['quarantined'], 200)
    assert.equal(typeof response.body['request_id'], 'string')
    const errors = response.body['errors'] as Array<{ index: number; field: string; code: string; message: string }>
    assert.deepEqual([...new Set(errors.map((e) => e.index))], invalidIndexes)
    for (const error of errors) {
      assert.equal(typeof error.field, 'string')
      assert.equal(typeof error.code, 'string')
      assert.ok(error.message.length > 0)
    }
    assert.ok(errors.some((e) => e.field === 'severity' && e.code === 'out_of_range'))
    assert.ok(errors.some((e) => e.field === 'timestamp' && e.code === 'invalid_timestamp'))
    assert.ok(errors.some((e) => e.field === 'action' && e.code === 'invalid_format'))
    assert.ok(errors.some((e) => e.field === 'timestamp' && e.code === 'missing_field'))

    const where = `position(raw_event, '${tag}') > 0`
    await waitFor(() => countRows(app.app, 'events_quarantine', where), (n) => n === 200)
    await waitFor(() => countRows(app.app, 'events', `target = '${tag}'`), (n) => n === 300)
    const rows = await queryRows<Record<string, unknown>>(
      app.app,
      `SELECT tenant_id, source_ip, source_format, validation_errors, error_code, raw_event FROM events_quarantine WHERE ${where}`,
    )
    const codes = new Set(rows.map((row) => row['error_code']))
    assert.deepEqual([...codes].sort(), ['invalid_format', 'invalid_timestamp', 'missing_field', 'out_of_range'])
    for (const row of rows) {
      assert.equal(row['tenant_id'], 'acme')
      assert.equal(row['source_ip'], '127.0.0.1')
      assert.equal(row['source_format'], 'json')
      const messages = row['validation_errors'] as string[]
      assert.ok(messages.length > 0)
      assert.ok(messages.some((message) => message.endsWith(`(${String(row['error_code'])})`)), JSON.stringify(messages))
      assert.doesNotThrow(() => JSON.parse(String(row['raw_event'])))
    }
    const batches = (await metricValue(app.url, 'siem_writer_batches_total')) - batchesBefore
    assert.ok(batches <= 2, `500 rows written in ${batches} batches`)
  })

  test('400 when no event is valid, with every event quarantined', async () => {
    const tag = randomUUID()
    const response = await send({ events: [{ target: tag }, { target: tag, action: 'x' }] })
    assert.equal(response.status, 400)
    assert.equal(response.body['accepted'], 0)
    assert.equal(response.body['quarantined'], 2)
    await waitFor(() => countRows(app.app, 'events_quarantine', `position(raw_event, '${tag}') > 0`), (n) => n === 2)
  })

  test('lone surrogate field name quarantined', async () => {
    const tag = randomUUID()
    // The body keeps the escape as text, and JSON.parse turns it into a lone surrogate in the field name.
    const text = `${JSON.stringify(valid(tag)).slice(0, -1)},"\\ud800x":1}`
    const response = await send(text)
    assert.equal(response.status, 400, response.text)
    assert.equal(response.body['quarantined'], 1)
    await waitFor(() => countRows(app.app, 'events_quarantine', `position(raw_event, '${tag}') > 0`), (n) => n === 1)
  })

  test('400 for malformed JSON, with the body quarantined whole', async () => {
    const tag = randomUUID()
    const text = `{"events": [{"target": "${tag}"`
    const response = await send(text)
    assert.equal(response.status, 400)
    assert.equal(errorCode(response), 'SIEM_ERR_INGEST_MALFORMED_BODY')
    assert.equal(response.body['quarantined'], 1)
    const errors = response.body['errors'] as Array<{ code: string; field: string }>
    assert.equal(errors[0]?.code, 'malformed_json')
    const rows = await waitFor(() => quarantineByRaw(text), (found) => found.length === 1)
    assert.equal(rows[0]?.error_code, 'malformed_json')
  })

  test('400 for gzip that does not inflate, kept as base64', async () => {
    const garbage = Buffer.from(`not gzip ${randomUUID()}`)
    const response = await send(garbage, { 'content-encoding': 'gzip' })
    assert.equal(response.status, 400)
    assert.equal(errorCode(response), 'SIEM_ERR_INGEST_MALFORMED_BODY')
    const raw = `base64:${garbage.toString('base64')}`
    await waitFor(() => countRows(app.app, 'events_quarantine', `raw_event = '${raw}' AND error_code = 'malformed_encoding'`), (n) => n === 1)
  })

  test('200 for a gzip NDJSON body with a BOM', async () => {
    const tag = randomUUID()
    const text = `\ufeff${JSON.stringify(valid(tag))}\n${JSON.stringify(valid(tag))}\n`
    const response = await send(gzipSync(Buffer.from(text)), { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' })
    assert.equal(response.status, 200, response.text)
    assert.equal(response.body['accepted'], 2)
    await waitFor(() => countRows(app.app, 'events', `target = '${tag}'`), (n) => n === 2)
  })

  test('NDJSON keeps good lines next to a broken one', async () => {
    const tag = randomUUID()
    const broken = `{"target": "${tag}", `
    const text = [JSON.stringify(valid(tag)), broken, JSON.stringify(valid(tag))].join('\n')
    const response = await send(text, { 'content-type': 'application/x-ndjson' })
    assert.equal(response.status, 207)
    const errors = response.body['errors'] as Array<{ index: number; code: string }>
    assert.deepEqual(errors.map((e) => [e.index, e.code]), [[1, 'malformed_json']])
    await waitFor(() => countRows(app.app, 'events', `target = '${tag}'`), (n) => n === 2)
    const rows = await waitFor(() => quarantineByRaw(broken), (found) => found.length === 1)
    assert.equal(rows[0]?.error_code, 'malformed_json')
  })

  test('long input is capped without splitting an emoji', async () => {
    const tag = randomUUID()
    // 65536 is the default ingest.max_quarantine_raw and the raw length limit;
    // each line puts the first half of an emoji pair at index 65535.
    const brokenPrefix = `{"target": "${tag}", "x": "`
    const broken = `${brokenPrefix}${'x'.repeat(65535 - brokenPrefix.length)}😀😀`
    const eventPrefix = `${JSON.stringify(valid(tag)).slice(0, -1)},"metadata":{"pad":"`
    const event = `${eventPrefix}${'x'.repeat(65535 - eventPrefix.length)}😀😀"}}`
    for (const line of [broken, event]) assert.equal(line.codePointAt(65535), 0x1f600)

    const response = await send([broken, event].join('\n'), { 'content-type': 'application/x-ndjson' })
    assert.equal(response.status, 207, response.text)
    await waitFor(() => countRows(app.app, 'events_quarantine', `position(raw_event, '${tag}') > 0`), (n) => n === 1)
    await waitFor(() => countRows(app.app, 'events', `target = '${tag}'`), (n) => n === 1)
    const [stored] = await queryRows<{ length: string }>(app.app, `SELECT length(raw) AS length FROM events WHERE target = '${tag}'`)
    assert.equal(stored?.length, '65535')
  })

  test('401 for bad keys, 403 without role', async () => {
    const missing = await postEvents(app.url, { events: [valid('x')] })
    assert.equal(missing.status, 401)
    assert.equal(errorCode(missing), 'SIEM_ERR_AUTH_MISSING_KEY')
    const wrong = await postEvents(app.url, { events: [valid('x')] }, { 'x-api-key': 'not-a-key' })
    assert.equal(wrong.status, 401)
    assert.equal(errorCode(wrong), 'SIEM_ERR_AUTH_INVALID_KEY')
    const forbidden = await postEvents(app.url, { events: [valid('x')] }, { 'x-api-key': SEARCH_KEY })
    assert.equal(forbidden.status, 403)
    assert.equal(errorCode(forbidden), 'SIEM_ERR_AUTH_FORBIDDEN')
    for (const response of [missing, wrong, forbidden]) assert.equal(typeof response.body['request_id'], 'string')
  })

  test('413 for a body over max_payload_size, a gzip bomb and too many events', async () => {
    const big = await send(JSON.stringify({ events: [{ ...valid('x'), raw: 'r'.repeat(MAX_PAYLOAD) }] }))
    assert.equal(big.status, 413)
    assert.equal(errorCode(big), 'SIEM_ERR_INGEST_PAYLOAD_TOO_LARGE')

    const bomb = gzipSync(Buffer.from(JSON.stringify({ events: [{ ...valid('x'), raw: ' '.repeat(4 * MAX_PAYLOAD) }] })))
    assert.ok(bomb.length < MAX_PAYLOAD)
    const inflated = await send(bomb, { 'content-encoding': 'gzip' })
    assert.equal(inflated.status, 413)
    assert.equal(errorCode(inflated), 'SIEM_ERR_INGEST_PAYLOAD_TOO_LARGE')

    const many = await send({ events: Array.from({ length: 1001 }, () => valid('x')) })
    assert.equal(many.status, 413)
    assert.equal(errorCode(many), 'SIEM_ERR_INGEST_BATCH_TOO_LARGE')
  })

  test('415 for an unsupported encoding or type, never quarantined', async () => {
    const tag = randomUUID()
    const encoded = await send(`{"events": [{"target": "${tag}"`, { 'content-encoding': 'br' })
    assert.equal(encoded.status, 415)
    assert.equal(errorCode(encoded), 'SIEM_ERR_INGEST_UNSUPPORTED_ENCODING')
    const typed = await send(`target=${tag}`, { 'content-type': 'text/plain' })
    assert.equal(typed.status, 415)
    assert.equal(errorCode(typed), 'SIEM_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE')
    await barrier()
    assert.equal(await countRows(app.app, 'events_quarantine', `position(raw_event, '${tag}') > 0`), 0)
  })

  test('every answer carries a request id, an incoming one is kept', async () => {
    const echoed = await send({ events: [valid('x')] }, { 'x-request-id': 'client-req-42' })
    assert.equal(echoed.body['request_id'], 'client-req-42')
    assert.equal(echoed.headers.get('x-request-id'), 'client-req-42')
    const made = await send({ events: [valid('x')] }, { 'x-request-id': 'bad id with spaces' })
    assert.match(String(made.body['request_id']), /^[0-9a-f-]{36}$/)
    const missing = await request(`${app.url}/no/such/route`)
    assert.equal(missing.status, 404)
    assert.equal(errorCode(missing), 'SIEM_ERR_NOT_FOUND')
    assert.equal(typeof missing.body['request_id'], 'string')
  })

  test('ack=committed returns once stored', async () => {
    const tag = randomUUID()
    const body = JSON.stringify({ events: [valid(tag), valid(tag), { target: tag }] })
    const response = await request(`${app.url}/v1/events?ack=committed`, { method: 'POST', headers: { ...KEY, 'content-type': 'application/json' }, body })
    assert.equal(response.status, 207)
    assert.equal(await countRows(app.app, 'events', `target = '${tag}'`), 2, 'stored before the answer')
    assert.equal(await countRows(app.app, 'events_quarantine', `position(raw_event, '${tag}') > 0`), 1)
  })

  test('stores the tenant of the API key', async () => {
    const tag = randomUUID()
    await send({ events: [{ ...valid(tag), tenant_id: 'other' }] })
    await waitFor(() => countRows(app.app, 'events', `target = '${tag}'`), (n) => n === 1)
    assert.equal(await countRows(app.app, 'events', `target = '${tag}' AND tenant_id = 'acme'`), 1)
  })
})

describe('operations routes', () => {
  test('health reports status, queue and storage', async () => {
    const health = await request(`${app.url}/health`)
    assert.equal(health.status, 200)
    assert.equal(health.body['status'], 'healthy')
    const queue = health.body['queue'] as Record<string, number | null>
    assert.equal(typeof queue['depth_events'], 'number')
    // The default queue is the disk spool, which is bounded by bytes on disk, not by events.
    assert.equal(queue['capacity_events'], null)
    assert.equal(queue['capacity_bytes'], 4 * 1024 ** 3)
    const storage = health.body['storage'] as { ok: boolean; latency_ms: number }
    assert.equal(storage.ok, true)
    assert.equal(typeof storage.latency_ms, 'number')
    assert.equal(typeof health.body['uptime_seconds'], 'number')
  })

  test('ready answers once migrations ran', async () => {
    const ready = await request(`${app.url}/ready`)
    assert.equal(ready.status, 200)
    assert.equal(ready.body['ready'], true)
  })

  test('metrics count received, accepted and quarantined events', async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text()
    for (const name of [
      'siem_events_received_total',
      'siem_events_accepted_total',
      'siem_events_quarantined_total',
      'siem_queue_depth_events',
      'siem_queue_capacity_events',
      'siem_writer_rows_written_total',
      'siem_writer_batches_total',
      'siem_writer_flush_duration_seconds_bucket',
      'siem_writer_batch_size_bucket',
      'siem_writer_pending_rows',
    ]) {
      assert.ok(text.includes(name), `metrics lack ${name}`)
    }
    assert.ok((await metricValue(app.url, 'siem_events_accepted_total', { source: 'http' })) >= 10_000)
    assert.ok((await metricValue(app.url, 'siem_events_quarantined_total', { source: 'http', reason: 'out_of_range' })) >= 1)
  })

  test('metrics show the preparation workers', async () => {
    assert.equal(await metricValue(app.url, 'siem_prepare_pending_bodies'), 0)
    assert.equal(await metricValue(app.url, 'siem_prepare_worker_failures_total'), 0)
  })
})
