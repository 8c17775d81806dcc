import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { deflateSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { countRows, startTestApp, waitFor, type TestApp } from '../support/app.js'

/**
 * Property-based fuzz of the HTTP body decoder, parser and validator
 * through the real server. Thousands of generated bodies must each get a
 * well-formed JSON response with a request_id, the server must stay
 * healthy, and every valid event of a mixed body must be stored.
 */

const VALID_PRODUCT = 'fuzz-valid'
const MAX_PAYLOAD = 512 * 1024

let app: TestApp
/** Valid events the fuzz sent and the server accepted; all must reach `events`. */
let validSent = 0
let requests = 0

before(async () => {
  app = await startTestApp({ ingest: { max_payload_size: MAX_PAYLOAD, max_batch_size: 1000 } })
})

after(async () => {
  await app.close()
})

interface Body {
  payload: Buffer
  contentType: string | undefined
  contentEncoding: string | undefined
}

interface Answer {
  status: number
  body: Record<string, unknown>
}

const ALLOWED_STATUS = new Set([200, 207, 400, 413, 415])

/** Posts a body and checks that the response is well-formed JSON with a request id and an expected status. */
async function post(body: Body): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (body.contentType !== undefined) headers['content-type'] = body.contentType
  if (body.contentEncoding !== undefined) headers['content-encoding'] = body.contentEncoding
  const response = await fetch(`${app.url}/v1/events`, { method: 'POST', headers, body: body.payload })
  const text = await response.text()
  requests++
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    assert.fail(`answer ${response.status} is not JSON: ${text.slice(0, 200)}`)
  }
  assert.equal(typeof parsed, 'object')
  assert.ok(parsed !== null)
  const answer = parsed as Record<string, unknown>
  assert.ok(ALLOWED_STATUS.has(response.status), `status ${response.status}: ${text.slice(0, 300)}`)
  assert.equal(typeof answer['request_id'], 'string', text.slice(0, 200))
  assert.equal(response.headers.get('x-request-id'), answer['request_id'])
  if (response.status >= 400 && response.status !== 400) {
    assert.match(String((answer['error'] as { code?: unknown } | undefined)?.code), /^SIEM_ERR_/, text.slice(0, 200))
  }
  if (response.status === 200 || response.status === 207) {
    assert.equal(typeof answer['accepted'], 'number')
    validSent += answer['accepted'] as number
  }
  return { status: response.status, body: answer }
}

async function assertHealthy(): Promise<void> {
  const response = await fetch(`${app.url}/health`)
  assert.equal(response.status, 200)
  const health = (await response.json()) as { status: string }
  assert.ok(health.status === 'healthy' || health.status === 'degraded', health.status)
}

const RUNS = Number(process.env['SIEM_FUZZ_RUNS'] ?? '1')

function runs(count: number): number {
  return Math.max(1, Math.round(count * RUNS))
}

// ---- generators of valid and invalid events ----

const pad = (value: number, width = 2): string => String(value).padStart(width, '0')

/** RFC 3339 text for a time within the ingest window, in a random zone and precision. */
const timestampArb = fc
  .record({
    agoMs: fc.integer({ min: 1000, max: 6 * 86_400_000 }),
    micros: fc.integer({ min: 0, max: 999_999 }),
    digits: fc.constantFrom(0, 1, 3, 4, 6, 9),
    offsetMinutes: fc.constantFrom(0, -720, -420, -30, 60, 330, 840),
    zulu: fc.constantFrom('Z', 'z', '+00:00'),
  })
  .map(({ agoMs, micros, digits, offsetMinutes, zulu }) => {
    const local = new Date(Date.now() - agoMs + offsetMinutes * 60_000).toISOString().slice(0, 19)
    const fraction = digits === 0 ? '' : `.${`${pad(micros, 6)}789`.slice(0, digits)}`
    const abs = Math.abs(offsetMinutes)
    const zone = offsetMinutes === 0 ? zulu : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
    return local + fraction + zone
  })

const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })
const actionArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}(\.[a-z][a-z0-9_]{0,12}){0,3}$/)
const ipArb = fc.oneof(fc.ipV4(), fc.constantFrom('::1', '2001:db8::1', 'fe80::1', '::ffff:192.0.2.1', '2001:db8:0:0:1:0:0:1'))
const emailArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}[a-z0-9]$/).map((user) => `${user.replace(/\.{2,}/g, '.')}@example.org`)

const actorArb = fc.record(
  {
    type: fc.constantFrom('user', 'process', 'service', 'system', 'unknown'),
    id: text(256),
    name: text(256),
    email: emailArb,
    ip_address: ipArb,
  },
  { requiredKeys: [] },
)

/** An event the validator must accept. */
const validEventArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      timestamp: timestampArb,
      source: fc.record(
        { product: fc.constant(VALID_PRODUCT), host: text(256), instance_id: text(128), version: text(64) },
        { requiredKeys: ['product'] },
      ),
      action: actionArb,
      outcome: fc.constantFrom('success', 'failure', 'unknown'),
      severity: fc.integer({ min: 1, max: 10 }),
      actor: actorArb,
      target: text(1024),
      raw: text(2000),
      metadata: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      withId: fc.boolean(),
    },
    { requiredKeys: ['timestamp', 'source', 'action', 'withId'] },
  )
  .map(({ withId, ...event }) => (withId ? { event_id: randomUUID(), ...event } : event))

/** An event the validator must reject, built from a valid one by one sure defect. */
const invalidEventArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(validEventArb, fc.constantFrom(0, 11, -1, 5.5, '5', null, true)).map(([event, severity]) => ({ ...event, severity })),
  validEventArb.map(({ action: _action, ...event }) => event),
  validEventArb.map(({ timestamp: _timestamp, ...event }) => event),
  validEventArb.map(({ source: _source, ...event }) => event),
  fc.tuple(validEventArb, fc.string({ maxLength: 30 })).map(([event, timestamp]) => ({ ...event, timestamp: `~${timestamp}` })),
  validEventArb.map((event) => ({ ...event, timestamp: new Date(Date.now() - 8 * 86_400_000).toISOString() })),
  validEventArb.map((event) => ({ ...event, timestamp: new Date(Date.now() + 3600_000).toISOString() })),
  fc.tuple(validEventArb, fc.jsonValue()).map(([event, junk]) => ({ ...event, x_unknown: junk })),
  validEventArb.map((event) => ({ ...event, target: `lone \ud800 surrogate` })),
  validEventArb.map((event) => ({ ...event, target: 't'.repeat(1025) })),
  validEventArb.map((event) => ({ ...event, source: { product: 'p'.repeat(257) } })),
  validEventArb.map((event) => ({ ...event, action: 'Upper.Case' })),
  validEventArb.map((event) => ({ ...event, outcome: 'maybe' })),
  validEventArb.map((event) => ({ ...event, actor: { ip_address: '300.1.1.1' } })),
  validEventArb.map((event) => ({ ...event, actor: { email: 'no-at-sign' } })),
  validEventArb.map((event) => ({ ...event, event_id: 'urn:uuid:0190a6e4-8d1c-7b5e-9f00-000000000001' })),
  validEventArb.map((event) => ({ ...event, metadata: [1, 2, 3] })),
  fc.jsonValue().filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)),
)

type Slot = { valid: true; value: Record<string, unknown> } | { valid: false; value: unknown }

const slotArb: fc.Arbitrary<Slot> = fc.oneof(
  validEventArb.map((value): Slot => ({ valid: true, value })),
  invalidEventArb.map((value): Slot => ({ valid: false, value })),
)

const MIXED_FORMATS = ['envelope', 'array', 'ndjson'] as const

const mixedBodyArb = fc.record({
  slots: fc.array(slotArb, { minLength: 1, maxLength: 40 }),
  format: fc.constantFrom(...MIXED_FORMATS),
  /** NDJSON only: lines that are not JSON, each an invalid event. */
  brokenLines: fc.array(fc.string({ maxLength: 40 }).map((line) => `{${line}`), { maxLength: 3 }),
  gzip: fc.boolean(),
  bom: fc.boolean(),
})

type MixedBody = typeof mixedBodyArb extends fc.Arbitrary<infer T> ? T : never

function encodeMixed(body: MixedBody): { request: Body; valid: number; total: number } {
  const values = body.slots.map((slot) => slot.value)
  let textBody: string
  let total = values.length
  let contentType = 'application/json'
  if (body.format === 'envelope') textBody = JSON.stringify({ events: values })
  else if (body.format === 'array') textBody = JSON.stringify(values)
  else {
    const lines = values.map((value) => JSON.stringify(value))
    for (const [index, broken] of body.brokenLines.entries()) lines.splice(index * 3, 0, broken)
    total += body.brokenLines.length
    textBody = lines.join('\n')
    contentType = 'application/x-ndjson'
  }
  const bytes = Buffer.from((body.bom ? '\ufeff' : '') + textBody)
  return {
    request: { payload: body.gzip ? gzipSync(bytes) : bytes, contentType, contentEncoding: body.gzip ? 'gzip' : undefined },
    valid: body.slots.filter((slot) => slot.valid).length,
    total,
  }
}

// ---- generators of hostile bodies ----

const CONTENT_TYPES = [undefined, 'application/json', 'application/x-ndjson', 'text/plain', 'application/json; charset=latin1', '']
const ENCODINGS = [undefined, 'identity', 'gzip', 'deflate', 'br', 'x-gzip', 'gzip, gzip', '']

/** Random headers for a body: Content-Type and Content-Encoding, possibly unsupported. */
const headersArb = fc.record({
  contentType: fc.constantFrom(...CONTENT_TYPES),
  contentEncoding: fc.constantFrom(...ENCODINGS),
})

const randomJsonBodyArb = fc.tuple(fc.json({ maxDepth: 6 }), headersArb).map(([json, headers]): Body => ({ payload: Buffer.from(json), ...headers }))

const truncatedJsonArb = fc
  .tuple(fc.array(slotArb, { minLength: 1, maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('application/json', 'application/x-ndjson'))
  .map(([slots, cut, contentType]): Body => {
    const full = contentType === 'application/json' ? JSON.stringify({ events: slots.map((s) => s.value) }) : slots.map((s) => JSON.stringify(s.value)).join('\n')
    const bytes = Buffer.from(full)
    return { payload: bytes.subarray(0, Math.floor(bytes.length * cut)), contentType, contentEncoding: undefined }
  })

const randomBytesArb = fc.tuple(fc.uint8Array({ maxLength: 4096 }), headersArb).map(([bytes, headers]): Body => ({ payload: Buffer.from(bytes), ...headers }))

const gzipGarbageArb = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 2048 }), fc.constantFrom('raw', 'gzip-of-random', 'truncated', 'deflate-as-gzip', 'flipped'))
  .map(([bytes, kind]): Body => {
    const data = Buffer.from(bytes)
    let payload: Buffer
    if (kind === 'raw') payload = data
    else if (kind === 'gzip-of-random') payload = gzipSync(data)
    else if (kind === 'truncated') payload = gzipSync(data).subarray(0, Math.max(1, Math.floor(data.length / 3)))
    else if (kind === 'deflate-as-gzip') payload = deflateSync(data)
    else {
      payload = Buffer.from(gzipSync(Buffer.from(JSON.stringify({ events: [{ a: data.toString('hex') }] }))))
      payload[Math.floor(payload.length / 2)] = (payload[Math.floor(payload.length / 2)] as number) ^ 0xff
    }
    return { payload, contentType: 'application/json', contentEncoding: 'gzip' }
  })

/**
 * Deeply nested arrays and objects. The arbitraries yield a description and
 * the body is built from it as text, which needs no recursion and keeps a
 * failure report short.
 */
const nestedJunkArb = fc.record({
  depth: fc.integer({ min: 1, max: 100_000 }),
  opener: fc.constantFrom('[', '{"a":', '{"events":[', 'metadata'),
  closed: fc.boolean(),
})

type NestedJunk = typeof nestedJunkArb extends fc.Arbitrary<infer T> ? T : never

function nestedBody({ depth, opener, closed }: NestedJunk): Body {
  let payload: string
  if (opener === 'metadata') {
    const metadata = `${'{"a":'.repeat(depth)}1${closed ? '}'.repeat(depth) : ''}`
    payload = `{"events":[{"timestamp":"${new Date().toISOString()}","source":{"product":"fuzz-deep"},"action":"fuzz.deep","metadata":${metadata}}]}`
  } else {
    let closer = ']}'
    if (opener === '[') closer = ']'
    else if (opener === '{"a":') closer = '}'
    payload = `${opener.repeat(depth)}1${closed ? closer.repeat(depth) : ''}`
  }
  return { payload: Buffer.from(payload), contentType: 'application/json', contentEncoding: undefined }
}

const hugeStringArb = fc.record({
  size: fc.integer({ min: 1000, max: 400_000 }),
  field: fc.constantFrom('raw', 'target', 'action', 'timestamp', 'metadata', 'junk'),
  char: fc.constantFrom('a', 'é', '😀', '"', '\\', '\u0000'),
})

type HugeString = typeof hugeStringArb extends fc.Arbitrary<infer T> ? T : never

function hugeBody({ size, field, char }: HugeString): Body {
  const big = char.repeat(Math.ceil(size / char.length))
  const event: Record<string, unknown> = { timestamp: new Date().toISOString(), source: { product: 'fuzz-huge' }, action: 'fuzz.huge' }
  event[field] = field === 'metadata' ? { big } : big
  return { payload: Buffer.from(JSON.stringify({ events: [event] })), contentType: 'application/json', contentEncoding: undefined }
}

describe('HTTP ingest fuzz', () => {
  test('mixed bodies: every valid event is accepted, every invalid one reported', async () => {
    await fc.assert(
      fc.asyncProperty(mixedBodyArb, async (mixed) => {
        const { request, valid, total } = encodeMixed(mixed)
        const answer = await post(request)
        let expected = 400
        if (valid === total) expected = 200
        else if (valid > 0) expected = 207
        assert.equal(answer.status, expected, JSON.stringify(answer.body).slice(0, 500))
        assert.equal(answer.body['accepted'], valid)
        assert.equal(answer.body['quarantined'], total - valid)
        const errors = (answer.body['errors'] as Array<{ index: number; code: string }> | undefined) ?? []
        assert.equal(new Set(errors.map((e) => e.index)).size, total - valid)
      }),
      { numRuns: runs(700) },
    )
    await assertHealthy()
  })

  test('random JSON, truncated JSON and random bytes are answered cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(randomJsonBodyArb, truncatedJsonArb, randomBytesArb), async (body) => {
        await post(body)
      }),
      { numRuns: runs(900) },
    )
    await assertHealthy()
  })

  test('gzip garbage is a 400 or 413, never an error', async () => {
    await fc.assert(
      fc.asyncProperty(gzipGarbageArb, async (body) => {
        const answer = await post(body)
        assert.ok(answer.status === 400 || answer.status === 413, `status ${answer.status}`)
      }),
      { numRuns: runs(300) },
    )
    await assertHealthy()
  })

  test('deep nesting and huge strings are answered cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(nestedJunkArb.map((nested) => ({ nested })), hugeStringArb.map((huge) => ({ huge }))), async (spec) => {
        await post('nested' in spec ? nestedBody(spec.nested) : hugeBody(spec.huge))
      }),
      { numRuns: runs(150) },
    )
    await assertHealthy()
  })

  test('every accepted event is stored, and ClickHouse refused none', async () => {
    assert.ok(requests >= runs(2000), `sent ${requests} bodies`)
    assert.ok(validSent > 1000, `only ${validSent} valid events were generated`)
    const stored = await waitFor(
      () => countRows(app.app, 'events', `source_product IN ('${VALID_PRODUCT}', 'fuzz-huge', 'fuzz-deep')`),
      (count) => count >= validSent,
      30_000,
    )
    assert.equal(stored, validSent)
    assert.equal(await countRows(app.app, 'events_quarantine', "error_code = 'storage_rejected'"), 0)
    await assertHealthy()
  })
})
