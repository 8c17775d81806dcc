import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isSiemError } from '../../src/errors.js'
import { splitForRollup } from '../../src/query/aggregate.js'
import { decodeCursor, encodeCursor, queryFingerprint } from '../../src/query/cursor.js'
import { filterCondition, parseFilter, parseFilterText } from '../../src/query/filters.js'
import { QueryParams } from '../../src/query/query-params.js'
import { KeyRateLimiter } from '../../src/query/rate-limit.js'
import { timeWindows } from '../../src/query/search.js'
import { phrasePattern, textCondition, tokenize } from '../../src/query/text-match.js'
import { MICROS_PER_HOUR, parseInstant, resolveTimeRange } from '../../src/query/time-range.js'

const NOW = Date.UTC(2025, 0, 31, 12, 30) * 1000

function isInvalid(err: unknown): boolean {
  return isSiemError(err, 'SIEM_ERR_QUERY_INVALID')
}

describe('text match', () => {
  test('tokenize splits on ASCII separators only', () => {
    assert.deepEqual(tokenize('user_77 auth.login 10.0.0.1'), ['user', '77', 'auth', 'login', '10', '0', '0', '1'])
    assert.deepEqual(tokenize('пароль-密码'), ['пароль', '密码'])
    assert.deepEqual(tokenize('...'), [])
  })

  test('phrase pattern escapes RE2 syntax and adds word edges', () => {
    assert.equal(phrasePattern('a.b', false), '(?:^|[\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f])a\\.b(?:[\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]|$)')
    assert.equal(phrasePattern('[x]', true), '(?i)\\[x\\]')
    assert.equal(phrasePattern('(?i).*', false), '\\(\\?i\\)\\.\\*')
  })

  test('text condition binds every token and the pattern', () => {
    const params = new QueryParams()
    const sql = textCondition("o'brien -- FORMAT", false, params)
    assert.equal(sql, 'hasToken(raw, {p0:String}) AND hasToken(raw, {p1:String}) AND hasToken(raw, {p2:String}) AND match(raw, {p3:String})')
    assert.deepEqual(Object.values(params.values).slice(0, 3), ['o', 'brien', 'FORMAT'])
  })
})

describe('filters', () => {
  test('user values appear only as bound parameters', () => {
    const hostile = "x' OR 1=1 -- FORMAT JSON"
    for (const field of ['action', 'actor.name', 'raw', 'metadata.pid', "metadata.a'b"]) {
      for (const op of ['eq', 'neq', 'contains', 'prefix', 'gt']) {
        const params = new QueryParams()
        const sql = filterCondition(parseFilter({ field, op, value: hostile }, 0), params)
        assert.ok(!sql.includes(hostile), `${field} ${op}: ${sql}`)
        assert.ok(!sql.includes("a'b"), `${field} ${op}: ${sql}`)
        assert.ok(Object.values(params.values).includes(hostile), `${field} ${op} value not bound`)
      }
    }
  })

  test('unknown fields and ops are rejected', () => {
    assert.throws(() => parseFilter({ field: 'tenant_id', op: 'eq', value: 'x' }, 0), isInvalid)
    assert.throws(() => parseFilter({ field: 'action', op: 'like', value: 'x' }, 0), isInvalid)
    assert.throws(() => parseFilter({ field: 'outcome', op: 'eq', value: 'maybe' }, 0), isInvalid)
    assert.throws(() => parseFilter({ field: 'severity', op: 'contains', value: 1 }, 0), isInvalid)
    assert.throws(() => parseFilter({ field: 'action', op: 'in', value: [] }, 0), isInvalid)
    assert.throws(() => parseFilter({ field: 'action', op: 'eq', value: null }, 0), isInvalid)
  })

  test('field:op:value keeps colons in the value', () => {
    const filter = parseFilterText('raw:contains:a:b:c', 0)
    assert.equal(filter.value, 'a:b:c')
    assert.deepEqual(parseFilterText('action:in:a,b', 0).value, ['a', 'b'])
    assert.throws(() => parseFilterText('action', 0), isInvalid)
  })
})

describe('time range', () => {
  test('relative times resolve against now', () => {
    assert.equal(parseInstant('now', NOW, 'start'), NOW)
    assert.equal(parseInstant('now-24h', NOW, 'start'), NOW - 24 * MICROS_PER_HOUR)
    assert.equal(parseInstant('now+5m', NOW, 'start'), NOW + 5 * 60_000_000)
    assert.equal(parseInstant('2025-01-31T12:30:00.000001Z', NOW, 'start'), NOW + 1)
    assert.throws(() => parseInstant('now-24x', NOW, 'start'), isInvalid)
    assert.throws(() => parseInstant('yesterday', NOW, 'start'), isInvalid)
  })

  test('ranges must be ordered and at most 90 days', () => {
    assert.throws(() => resolveTimeRange({ start: 'now', end: 'now-1h' }, NOW), isInvalid)
    assert.throws(() => resolveTimeRange({ start: 'now-91d', end: 'now' }, NOW), isInvalid)
    assert.deepEqual(resolveTimeRange({ start: 'now-90d', end: 'now' }, NOW), { start: NOW - 90 * 24 * MICROS_PER_HOUR, end: NOW })
  })
})

describe('cursor', () => {
  const state = { query: queryFingerprint({ a: 1 }), range: { start: 1, end: 10 }, time: 5, id: '018f0000-0000-7000-8000-000000000000' }

  test('round-trips and is bound to its query', () => {
    const text = encodeCursor(state)
    assert.deepEqual(decodeCursor(text, state.query), state)
    assert.throws(() => decodeCursor(text, queryFingerprint({ a: 2 })), isInvalid)
  })

  test('rejects tampered cursors', () => {
    const tampered = Buffer.from(JSON.stringify({ v: 1, q: state.query, s: 1, e: 10, t: 5, i: "' OR 1=1" })).toString('base64url')
    assert.throws(() => decodeCursor(tampered, state.query), isInvalid)
    assert.throws(() => decodeCursor('!!!', state.query), isInvalid)
    assert.throws(() => decodeCursor('x'.repeat(600), state.query), isInvalid)
  })
})

describe('scan windows and rollup split', () => {
  test('windows cover the range once, growing from the sorted edge', () => {
    const range = { start: 0, end: 100 * MICROS_PER_HOUR }
    const desc = [...timeWindows(range, 'desc')]
    assert.deepEqual(desc[0], { start: 99 * MICROS_PER_HOUR, end: 100 * MICROS_PER_HOUR })
    assert.deepEqual(desc[1], { start: 95 * MICROS_PER_HOUR, end: 99 * MICROS_PER_HOUR })
    assert.equal(desc[desc.length - 1]?.start, 0)
    const asc = [...timeWindows(range, 'asc')]
    assert.equal(asc.reduce((sum, window) => sum + window.end - window.start, 0), range.end)
    for (let index = 1; index < asc.length; index++) assert.equal(asc[index]?.start, asc[index - 1]?.end)
  })

  test('rollup takes whole hours and events the edges', () => {
    const hour = MICROS_PER_HOUR
    assert.deepEqual(splitForRollup({ start: 2 * hour, end: 5 * hour }), { rollup: { start: 2 * hour, end: 5 * hour }, edges: [] })
    assert.deepEqual(splitForRollup({ start: 2 * hour + 1, end: 5 * hour - 1 }), {
      rollup: { start: 3 * hour, end: 4 * hour },
      edges: [
        { start: 2 * hour + 1, end: 3 * hour },
        { start: 4 * hour, end: 5 * hour - 1 },
      ],
    })
    assert.deepEqual(splitForRollup({ start: 2 * hour + 1, end: 3 * hour }), { rollup: undefined, edges: [{ start: 2 * hour + 1, end: 3 * hour }] })
  })
})

describe('rate limit', () => {
  test('refills over a minute and reports the wait', () => {
    let now = 0
    const limiter = new KeyRateLimiter(2, () => now)
    limiter.take('a')
    limiter.take('a')
    assert.throws(
      () => limiter.take('a'),
      (err: unknown) => isSiemError(err, 'SIEM_ERR_QUERY_RATE_LIMITED') && err.retryAfterSeconds === 30,
    )
    limiter.take('b')
    now = 30_000
    limiter.take('a')
    assert.throws(() => limiter.take('a'), (err: unknown) => isSiemError(err, 'SIEM_ERR_QUERY_RATE_LIMITED'))
  })

  test('zero turns the limit off', () => {
    const limiter = new KeyRateLimiter(0)
    for (let index = 0; index < 1000; index++) limiter.take('a')
  })
})
