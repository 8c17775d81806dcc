import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ValidationConfig } from '../../src/config/types.js'
import type { EventRow, FieldError } from '../../src/schema/event.js'
import { parseRfc3339 } from '../../src/schema/timestamp.js'
import { DEFAULT_SEVERITY, EventValidator, MAX_LISTED_ERRORS, VALIDATION_CODES, type ValidationResult } from '../../src/schema/validate.js'

const DAY_MS = 86_400_000
const CONFIG: ValidationConfig = { max_event_age: 7 * DAY_MS, max_future: 5 * 60_000, strict_mode: true }

/** A fixed receive time, so window checks do not depend on the clock. */
const RECEIVED_AT = parseRfc3339('2026-04-15T12:00:00.000000Z') as number

const strict = new EventValidator(CONFIG)
const lenient = new EventValidator({ ...CONFIG, strict_mode: false })

type Event = Record<string, unknown>

function baseEvent(extra: Event = {}): Event {
  return {
    timestamp: '2026-04-15T11:59:00.123456Z',
    source: { product: 'sshd' },
    action: 'auth.login',
    ...extra,
  }
}

function run(value: unknown, validator = strict, rawText = JSON.stringify(value) ?? ''): ValidationResult {
  return validator.validate({ value, rawText, tenantId: 'tenant-a', receivedAt: RECEIVED_AT })
}

function validRow(value: unknown, validator = strict): EventRow {
  const result = run(value, validator)
  if (!result.ok) assert.fail(`expected a valid event, got ${JSON.stringify(result.errors)}`)
  return result.row
}

function errorsOf(value: unknown, validator = strict): FieldError[] {
  const result = run(value, validator)
  if (result.ok) assert.fail(`expected an invalid event, got row ${JSON.stringify(result.row)}`)
  return result.errors
}

/** Asserts that the event fails with exactly one error, on `field` with `code`. */
function assertSingleError(value: unknown, field: string, code: string, validator = strict): void {
  const errors = errorsOf(value, validator)
  assert.equal(errors.length, 1, JSON.stringify(errors))
  assert.equal(errors[0]?.field, field, JSON.stringify(errors))
  assert.equal(errors[0]?.code, code, JSON.stringify(errors))
  assert.ok((errors[0]?.message ?? '').length > 0)
}

describe('EventValidator rows', () => {
  test('maps every field of a full event', () => {
    const row = validRow({
      event_id: '0190A6E4-8D1C-7B5E-9F00-00000000ABCD',
      timestamp: '2026-04-15T04:59:00.856294523-07:00',
      source: { product: 'sshd', host: 'gw-1', instance_id: 'i-42', version: '9.6' },
      action: 'auth.login',
      outcome: 'success',
      severity: 9,
      actor: { type: 'user', id: 'u1', name: 'Alice', email: 'alice@example.com', ip_address: '2001:db8::1' },
      target: 'ssh:gw-1',
      raw: 'original line',
      metadata: { pid: 42, tags: ['a'] },
    })
    const expected: EventRow = {
      event_id: '0190a6e4-8d1c-7b5e-9f00-00000000abcd',
      // The sender chose the id, so the row leaves the column to its default, true.
      id_from_sender: undefined,
      tenant_id: 'tenant-a',
      timestamp: '2026-04-15 11:59:00.856294',
      received_at: '2026-04-15 12:00:00.000000',
      source_product: 'sshd',
      source_host: 'gw-1',
      source_instance_id: 'i-42',
      source_version: '9.6',
      actor_type: 'user',
      actor_id: 'u1',
      actor_name: 'Alice',
      actor_email: 'alice@example.com',
      actor_ip: '2001:db8::1',
      action: 'auth.login',
      target: 'ssh:gw-1',
      outcome: 'success',
      severity: 9,
      schema_version: '1.0.0',
      raw: 'original line',
      metadata: '{"pid":42,"tags":["a"]}',
    }
    assert.deepEqual(row, expected)
    assert.equal(JSON.stringify(row).includes('id_from_sender'), false)
  })

  test('fills defaults for a minimal event', () => {
    const input = baseEvent()
    const row = validRow(input)
    assert.match(row.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.equal(row.id_from_sender, false)
    assert.match(JSON.stringify(row), /"id_from_sender":false/)
    assert.equal(row.outcome, 'unknown')
    assert.equal(row.severity, DEFAULT_SEVERITY)
    assert.equal(row.actor_type, 'unknown')
    assert.equal(row.source_host, '')
    assert.equal(row.target, '')
    assert.equal(row.metadata, '{}')
    assert.equal(row.raw, JSON.stringify(input))
  })

  test('generates a different id for each event without one', () => {
    const ids = new Set(Array.from({ length: 100 }, () => validRow(baseEvent()).event_id))
    assert.equal(ids.size, 100)
  })

  test('ignores server-set fields in the body', () => {
    const row = validRow(baseEvent({ schema_version: '9.9.9', received_at: '2001-01-01T00:00:00Z', tenant_id: 'evil' }))
    assert.equal(row.schema_version, '1.0.0')
    assert.equal(row.tenant_id, 'tenant-a')
    assert.equal(row.received_at, '2026-04-15 12:00:00.000000')
  })

  test('caps raw text without splitting a surrogate pair', () => {
    const rawText = 'x'.repeat(65535) + '\u{1f600}' + 'y'.repeat(10)
    const result = strict.validate({ value: baseEvent(), rawText, tenantId: 't', receivedAt: RECEIVED_AT })
    assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.errors))
    assert.equal(result.row.raw, 'x'.repeat(65535))
  })

  test('caps the raw text of an event without raw', () => {
    const long = 'x'.repeat(70_000)
    const result = strict.validate({ value: baseEvent(), rawText: long, tenantId: 't', receivedAt: RECEIVED_AT })
    assert.ok(result.ok)
    assert.equal(result.row.raw.length, 65536)
  })

  test('accepts the longest allowed values', () => {
    const row = validRow(
      baseEvent({
        source: { product: 'p'.repeat(256), host: 'h'.repeat(256), instance_id: 'i'.repeat(128), version: 'v'.repeat(64) },
        action: 'a'.repeat(256),
        actor: { id: 'i'.repeat(256), name: 'n'.repeat(256) },
        target: 't'.repeat(1024),
        raw: 'r'.repeat(65536),
      }),
    )
    assert.equal(row.source_product.length, 256)
    assert.equal(row.raw.length, 65536)
  })

  test('accepts severities 1 and 10 and every outcome and actor type', () => {
    assert.equal(validRow(baseEvent({ severity: 1 })).severity, 1)
    assert.equal(validRow(baseEvent({ severity: 10 })).severity, 10)
    for (const outcome of ['success', 'failure', 'unknown']) {
      assert.equal(validRow(baseEvent({ outcome })).outcome, outcome)
    }
    for (const type of ['user', 'process', 'service', 'system', 'unknown']) {
      assert.equal(validRow(baseEvent({ actor: { type } })).actor_type, type)
    }
  })

  test('accepts IPv4 and IPv6 actor addresses', () => {
    for (const ip of ['192.0.2.10', '::1', '2001:db8::8a2e:370:7334', '::ffff:192.0.2.1']) {
      assert.equal(validRow(baseEvent({ actor: { ip_address: ip } })).actor_ip, ip)
    }
  })
})

describe('EventValidator field rules', () => {
  test('rejects a value that is not an object', () => {
    for (const value of [null, 42, 'text', [baseEvent()], true]) {
      assertSingleError(value, '(event)', 'invalid_type')
    }
  })

  test('requires timestamp, source and action', () => {
    const errors = errorsOf({})
    const byField = new Map(errors.map((e) => [e.field, e.code]))
    assert.equal(byField.get('timestamp'), 'missing_field')
    assert.equal(byField.get('source'), 'missing_field')
    assert.equal(byField.get('action'), 'missing_field')
    assert.equal(errors.length, 3)
  })

  test('requires source.product', () => {
    assertSingleError(baseEvent({ source: { host: 'h' } }), 'source.product', 'missing_field')
    assertSingleError(baseEvent({ source: { product: '' } }), 'source.product', 'too_short')
    assertSingleError(baseEvent({ source: 'sshd' }), 'source', 'invalid_type')
  })

  test('limits source field lengths', () => {
    assertSingleError(baseEvent({ source: { product: 'p'.repeat(257) } }), 'source.product', 'too_long')
    assertSingleError(baseEvent({ source: { product: 'p', host: 'h'.repeat(257) } }), 'source.host', 'too_long')
    assertSingleError(baseEvent({ source: { product: 'p', instance_id: 'i'.repeat(129) } }), 'source.instance_id', 'too_long')
    assertSingleError(baseEvent({ source: { product: 'p', version: 'v'.repeat(65) } }), 'source.version', 'too_long')
    assertSingleError(baseEvent({ source: { product: 'p', host: 7 } }), 'source.host', 'invalid_type')
  })

  test('rejects unknown fields inside source and actor', () => {
    assertSingleError(baseEvent({ source: { product: 'p', region: 'eu' } }), 'source.region', 'unknown_field')
    assertSingleError(baseEvent({ actor: { role: 'admin' } }), 'actor.role', 'unknown_field')
  })

  test('checks the action pattern and length', () => {
    for (const action of ['Auth.Login', '1auth', 'auth..login', 'auth.', '.auth', 'auth-login', 'auth login', 'auth.Login', 'auth.1x']) {
      assertSingleError(baseEvent({ action }), 'action', 'invalid_format')
    }
    for (const action of ['a', 'auth.login', 'auth_x.login_2.y9']) {
      assert.equal(validRow(baseEvent({ action })).action, action)
    }
    assertSingleError(baseEvent({ action: 'a'.repeat(257) }), 'action', 'too_long')
    assertSingleError(baseEvent({ action: 7 }), 'action', 'invalid_type')
  })

  test('checks outcome and severity', () => {
    assertSingleError(baseEvent({ outcome: 'ok' }), 'outcome', 'invalid_value')
    assertSingleError(baseEvent({ outcome: 'SUCCESS' }), 'outcome', 'invalid_value')
    assertSingleError(baseEvent({ severity: 0 }), 'severity', 'out_of_range')
    assertSingleError(baseEvent({ severity: 11 }), 'severity', 'out_of_range')
    assertSingleError(baseEvent({ severity: -3 }), 'severity', 'out_of_range')
    assertSingleError(baseEvent({ severity: 5.5 }), 'severity', 'invalid_type')
    assertSingleError(baseEvent({ severity: '5' }), 'severity', 'invalid_type')
    assertSingleError(baseEvent({ severity: null }), 'severity', 'invalid_type')
  })

  test('checks actor fields', () => {
    assertSingleError(baseEvent({ actor: { type: 'robot' } }), 'actor.type', 'invalid_value')
    assertSingleError(baseEvent({ actor: { id: 'i'.repeat(257) } }), 'actor.id', 'too_long')
    assertSingleError(baseEvent({ actor: { name: 'n'.repeat(257) } }), 'actor.name', 'too_long')
    assertSingleError(baseEvent({ actor: 'alice' }), 'actor', 'invalid_type')
    for (const email of ['alice', 'alice@', '@example.com', 'a b@example.com']) {
      assertSingleError(baseEvent({ actor: { email } }), 'actor.email', 'invalid_format')
    }
    for (const ip of ['999.1.1.1', '192.0.2', '2001:db8:::1', 'localhost', '']) {
      assertSingleError(baseEvent({ actor: { ip_address: ip } }), 'actor.ip_address', 'invalid_format')
    }
  })

  test('limits target, raw and metadata', () => {
    assertSingleError(baseEvent({ target: 't'.repeat(1025) }), 'target', 'too_long')
    assertSingleError(baseEvent({ raw: 'r'.repeat(65537) }), 'raw', 'too_long')
    assertSingleError(baseEvent({ metadata: [1, 2] }), 'metadata', 'invalid_type')
    assertSingleError(baseEvent({ metadata: 'pid=4' }), 'metadata', 'invalid_type')
    assertSingleError(baseEvent({ metadata: null }), 'metadata', 'invalid_type')
  })

  test('checks the event_id format', () => {
    for (const id of ['not-a-uuid', '0190a6e4-8d1c-7b5e-9f00-00000000abc', '0190a6e4-8d1c-7b5e-9f00-00000000abcg', '']) {
      assertSingleError(baseEvent({ event_id: id }), 'event_id', 'invalid_format')
    }
    assertSingleError(baseEvent({ event_id: 42 }), 'event_id', 'invalid_type')
  })

  test('rejects a URN-prefixed event_id, which the UUID column cannot store', () => {
    assertSingleError(baseEvent({ event_id: 'urn:uuid:0190a6e4-8d1c-7b5e-9f00-00000000abcd' }), 'event_id', 'invalid_format')
  })

  test('rejects metadata nested too deeply to serialize', () => {
    let deep: Record<string, unknown> = {}
    const metadata = deep
    for (let depth = 0; depth < 100_000; depth++) {
      const next: Record<string, unknown> = {}
      deep['a'] = next
      deep = next
    }
    const result = run(baseEvent({ metadata }), strict, 'deep event')
    assert.equal(result.ok, false)
    const errors = result.ok ? [] : result.errors
    assert.equal(errors[0]?.field, 'metadata')
    assert.equal(errors[0]?.code, 'too_deep')
  })

  test('rejects text with a lone UTF-16 surrogate', () => {
    assertSingleError(baseEvent({ target: 'a\ud800b' }), 'target', 'invalid_format')
    assertSingleError(baseEvent({ raw: '\udc00' }), 'raw', 'invalid_format')
    assertSingleError(baseEvent({ source: { product: 'p', host: 'x\udbff' } }), 'source.host', 'invalid_format')
    assertSingleError(baseEvent({ actor: { name: '\udfff\ud800' } }), 'actor.name', 'invalid_format')
    assert.equal(validRow(baseEvent({ target: 'pair \ud83d\ude00' })).target, 'pair \u{1f600}')
    assert.equal(validRow(baseEvent({ metadata: { note: '\ud800' } })).metadata, '{"note":"\\ud800"}')
  })

  test('reports every problem of an event at once', () => {
    const errors = errorsOf({ timestamp: 'soon', source: { product: '' }, action: 'Bad', severity: 99, actor: { email: 'x' } })
    const fields = errors.map((e) => e.field).sort()
    assert.deepEqual(fields, ['action', 'actor.email', 'severity', 'source.product', 'timestamp'])
  })

  test('uses only catalogued codes and names a field in each message', () => {
    const bad = [
      {},
      { timestamp: 5, source: [], action: {}, outcome: 1, severity: 'x', actor: { type: 3 }, target: [], raw: 1, metadata: 1, extra: 1 },
      baseEvent({ timestamp: '2026-04-15T11:59:00' }),
      baseEvent({ timestamp: '2020-01-01T00:00:00Z' }),
      baseEvent({ timestamp: '2030-01-01T00:00:00Z' }),
    ]
    for (const value of bad) {
      for (const error of errorsOf(value)) {
        assert.ok(error.code in VALIDATION_CODES, `unknown code ${error.code}`)
        assert.ok(error.field.length > 0)
        assert.ok(error.message.includes(error.field === '(event)' ? '' : error.field.split('.')[0] as string), JSON.stringify(error))
      }
    }
  })
})

describe('EventValidator timestamp', () => {
  test('requires a string in RFC 3339 with an offset', () => {
    assertSingleError(baseEvent({ timestamp: 1_776_254_340_000 }), 'timestamp', 'invalid_type')
    for (const timestamp of ['2026-04-15T11:59:00', '2026-04-15', 'now', '2026-02-30T11:59:00Z', '']) {
      assertSingleError(baseEvent({ timestamp }), 'timestamp', 'invalid_timestamp')
    }
    const long = errorsOf(baseEvent({ timestamp: '2026-04-15T11:59:00.123'.padEnd(65, '0') + 'Z' }))
    assert.deepEqual(long[0], { field: 'timestamp', code: 'too_long', message: long[0]?.message })
  })

  test('keeps microseconds and applies the offset', () => {
    assert.equal(validRow(baseEvent({ timestamp: '2026-04-15T04:59:00.1234-07:00' })).timestamp, '2026-04-15 11:59:00.123400')
  })

  test('enforces the ingest window at its edges', () => {
    assert.ok(run(baseEvent({ timestamp: '2026-04-08T12:00:00.000000Z' })).ok, 'exactly max_event_age old')
    assertSingleError(baseEvent({ timestamp: '2026-04-08T11:59:59.999999Z' }), 'timestamp', 'timestamp_too_old')
    assert.ok(run(baseEvent({ timestamp: '2026-04-15T12:05:00.000000Z' })).ok, 'exactly max_future ahead')
    assertSingleError(baseEvent({ timestamp: '2026-04-15T12:05:00.000001Z' }), 'timestamp', 'timestamp_in_future')
  })

  test('follows a configured window', () => {
    const narrow = new EventValidator({ max_event_age: 60_000, max_future: 1000, strict_mode: true })
    assertSingleError(baseEvent({ timestamp: '2026-04-15T11:58:59Z' }), 'timestamp', 'timestamp_too_old', narrow)
    assertSingleError(baseEvent({ timestamp: '2026-04-15T12:00:01.5Z' }), 'timestamp', 'timestamp_in_future', narrow)
    assert.ok(narrow.validate({ value: baseEvent({ timestamp: '2026-04-15T11:59:30Z' }), rawText: '', tenantId: 't', receivedAt: RECEIVED_AT }).ok)
  })
})

describe('EventValidator strict_mode', () => {
  test('strict mode rejects unknown top-level fields', () => {
    const errors = errorsOf(baseEvent({ hostname: 'gw', port: 22 }))
    assert.deepEqual(
      errors.map((e) => [e.field, e.code]).sort(),
      [
        ['hostname', 'unknown_field'],
        ['port', 'unknown_field'],
      ],
    )
  })

  test('strict mode lists 100 of 200,000 unknown fields', () => {
    // About 2 MB of JSON. Spreading that many errors into one call overflowed the call stack,
    // and every error listed made the response and the quarantine row grow with them.
    const extra: Event = {}
    for (let index = 0; index < 200_000; index++) extra[`k${index}`] = 0
    const errors = errorsOf(baseEvent(extra))
    assert.equal(errors.length, MAX_LISTED_ERRORS + 1)
    assert.deepEqual(errors[MAX_LISTED_ERRORS - 1], { field: 'k99', code: 'unknown_field', message: 'k99 is not a known field' })
    assert.deepEqual(errors[MAX_LISTED_ERRORS], { field: '(event)', code: 'too_many_errors', message: '199900 more problems of this event are not listed' })
  })

  test('strict mode lists 100 unknown fields in full', () => {
    const extra: Event = {}
    for (let index = 0; index < MAX_LISTED_ERRORS; index++) extra[`k${index}`] = 0
    const errors = errorsOf(baseEvent(extra))
    assert.equal(errors.length, MAX_LISTED_ERRORS)
    assert.ok(errors.every((error) => error.code === 'unknown_field'))
  })

  test('lenient mode moves unknown fields into metadata', () => {
    const row = validRow(baseEvent({ hostname: 'gw', port: 22, nested: { a: [1] } }), lenient)
    assert.deepEqual(JSON.parse(row.metadata), { hostname: 'gw', port: 22, nested: { a: [1] } })
  })

  test('lenient mode merges unknown fields with existing metadata', () => {
    const metadata = { pid: 7 }
    const row = validRow(baseEvent({ metadata, port: 22 }), lenient)
    assert.deepEqual(JSON.parse(row.metadata), { pid: 7, port: 22 })
    assert.deepEqual(metadata, { pid: 7 }, 'the input metadata object is not changed')
  })

  test('lenient mode moves a __proto__ field', () => {
    // JSON.parse makes `__proto__` an own property, as a client sends it.
    const event = JSON.parse('{"__proto__": {"role": "admin"}, "hostname": "gw"}') as Event
    const row = validRow(baseEvent(event), lenient)
    assert.equal(row.metadata, '{"__proto__":{"role":"admin"},"hostname":"gw"}')
    const merged = validRow(baseEvent({ ...event, metadata: { pid: 7 } }), lenient)
    assert.equal(merged.metadata, '{"pid":7,"__proto__":{"role":"admin"},"hostname":"gw"}')
  })

  test('lenient mode keeps the other rules', () => {
    assertSingleError(baseEvent({ severity: 0, port: 22 }), 'severity', 'out_of_range', lenient)
    assertSingleError(baseEvent({ source: { product: 'p', region: 'eu' } }), 'source.region', 'unknown_field', lenient)
  })

  test('lenient mode does not move server-set fields', () => {
    const row = validRow(baseEvent({ tenant_id: 'evil', extra: 1 }), lenient)
    assert.deepEqual(JSON.parse(row.metadata), { extra: 1 })
    assert.equal(row.tenant_id, 'tenant-a')
  })
})
