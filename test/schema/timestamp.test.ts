import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  formatClickHouseMicros,
  formatRfc3339Micros,
  parseClickHouseTime,
  parseRfc3339,
} from '../../src/schema/timestamp.js'
import { parseRfc3339WithRegex } from '../../bench/reference/rfc3339-regex.js'
import { formatClickHouseMicrosWithDate } from '../../bench/reference/clickhouse-time-date.js'

function clickHouseText(rfc3339: string): string | undefined {
  const micros = parseRfc3339(rfc3339)
  return micros === undefined ? undefined : formatClickHouseMicros(micros)
}

describe('parseRfc3339', () => {
  test('applies the offset and truncates nanoseconds', () => {
    assert.equal(clickHouseText('2026-04-15T03:05:38.856294523-07:00'), '2026-04-15 10:05:38.856294')
  })

  test('pads a short fraction to microseconds', () => {
    const micros = parseRfc3339('2026-04-15T10:05:38.1234Z')
    assert.ok(micros !== undefined)
    assert.equal(micros % 1_000_000, 123400)
    assert.equal(formatClickHouseMicros(micros), '2026-04-15 10:05:38.123400')
  })

  test('reads every fraction length from 1 to 9 digits', () => {
    const cases: Array<[string, string]> = [
      ['.5', '500000'],
      ['.05', '050000'],
      ['.123', '123000'],
      ['.000001', '000001'],
      ['.9999999', '999999'],
      ['.000000999', '000000'],
    ]
    for (const [fraction, expected] of cases) {
      assert.equal(clickHouseText(`2026-01-01T00:00:00${fraction}Z`), `2026-01-01 00:00:00.${expected}`, fraction)
    }
  })

  test('reads a timestamp without fraction', () => {
    assert.equal(clickHouseText('2026-01-01T00:00:00Z'), '2026-01-01 00:00:00.000000')
  })

  test('crosses the date line with positive and negative offsets', () => {
    assert.equal(clickHouseText('2026-01-01T01:30:00.000001+05:45'), '2025-12-31 19:45:00.000001')
    assert.equal(clickHouseText('2025-12-31T23:59:59.999999-00:30'), '2026-01-01 00:29:59.999999')
  })

  test('accepts lowercase t and z and a space separator', () => {
    assert.equal(clickHouseText('2026-03-01t12:00:00z'), '2026-03-01 12:00:00.000000')
    assert.equal(clickHouseText('2026-03-01 12:00:00+00:00'), '2026-03-01 12:00:00.000000')
  })

  test('accepts 29 February only in leap years', () => {
    assert.equal(clickHouseText('2024-02-29T00:00:00Z'), '2024-02-29 00:00:00.000000')
    assert.equal(clickHouseText('2000-02-29T00:00:00Z'), '2000-02-29 00:00:00.000000')
    assert.equal(parseRfc3339('2026-02-29T00:00:00Z'), undefined)
    assert.equal(parseRfc3339('1900-02-29T00:00:00Z'), undefined)
  })

  test('rejects invalid dates and times', () => {
    const invalid = [
      '',
      'yesterday',
      '2026-04-15',
      '2026-04-15T03:05:38',
      '2026-04-15T03:05:38.123',
      '2026-04-15T03:05Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-04-00T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-04-15T24:00:00Z',
      '2026-04-15T23:60:00Z',
      '2026-04-15T23:59:60Z',
      '2026-04-15T03:05:38.Z',
      '2026-04-15T03:05:38.1234567890Z',
      '2026-04-15T03:05:38+24:00',
      '2026-04-15T03:05:38+05:60',
      '2026-04-15T03:05:38+0500',
      '2026-04-15T03:05:38 Z',
      ' 2026-04-15T03:05:38Z',
      '2026-04-15T03:05:38Z ',
      '26-04-15T03:05:38Z',
      '2026-4-15T03:05:38Z',
      '2026-04-15T03:05:38.1e3Z',
      '１２３４-04-15T03:05:38Z',
    ]
    for (const text of invalid) assert.equal(parseRfc3339(text), undefined, JSON.stringify(text))
  })

  test('keeps microseconds exact far from the epoch', () => {
    assert.equal(clickHouseText('2255-06-01T23:59:59.999999Z'), '2255-06-01 23:59:59.999999')
    assert.equal(clickHouseText('1970-01-01T00:00:00.000001Z'), '1970-01-01 00:00:00.000001')
  })

  test('reads years 0 to 99 as written', () => {
    assert.equal(parseRfc3339('0050-03-01T12:00:00Z'), Date.parse('0050-03-01T12:00:00Z') * 1000)
    assert.equal(parseRfc3339('0000-02-29T00:00:00.5+01:00'), Date.parse('0000-02-28T23:00:00.500Z') * 1000)
    assert.equal(clickHouseText('0099-12-31T23:59:59Z'), '0099-12-31 23:59:59.000000')
  })

  test('matches a regular-expression reference', () => {
    const digits = (count: number): fc.Arbitrary<string> => fc.stringMatching(new RegExp(`^[0-9]{${count}}$`))
    const number = (min: number, max: number, width: number): fc.Arbitrary<string> => fc.integer({ min, max }).map((n) => String(n).padStart(width, '0'))
    /** Mostly a valid part, sometimes any text of its shape or one of the odd cases. */
    const part = (valid: fc.Arbitrary<string>, ...odd: string[]): fc.Arbitrary<string> =>
      fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: fc.constantFrom(...odd), weight: 1 })
    const nearValid = fc
      .tuple(
        part(number(0, 9999, 4), '20x6', '202'),
        part(fc.constant('-'), '/'),
        part(number(1, 12, 2), '00', '13', '1'),
        part(fc.constant('-'), '_'),
        part(number(1, 31, 2), '00', '32'),
        part(fc.constantFrom('T', 't', ' '), 'x', '  '),
        part(number(0, 23, 2), '24', '99'),
        part(fc.constant(':'), '.'),
        part(number(0, 59, 2), '60'),
        part(fc.constant(':'), ''),
        part(number(0, 59, 2), '60', '5'),
        part(fc.oneof(fc.constant(''), fc.integer({ min: 1, max: 9 }).chain((n) => digits(n).map((d) => `.${d}`))), '.', '.1234567890', '.12345678901', ',5'),
        part(
          fc.oneof(fc.constantFrom('Z', 'z'), fc.tuple(fc.constantFrom('+', '-'), number(0, 23, 2), number(0, 59, 2)).map(([sign, h, m]) => `${sign}${h}:${m}`)),
          'UTC',
          '',
          '+24:00',
          '+05:60',
          '+0530',
          '-00:00:00',
          'Zz',
        ),
      )
      .map((parts) => parts.join(''))
    fc.assert(
      fc.property(fc.oneof({ arbitrary: nearValid, weight: 4 }, { arbitrary: fc.string({ maxLength: 40 }), weight: 1 }), (text) => {
        assert.equal(parseRfc3339(text), parseRfc3339WithRegex(text), JSON.stringify(text))
      }),
      { numRuns: 20_000 },
    )
  })
})

describe('ClickHouse time text', () => {
  test('round-trips through parseClickHouseTime', () => {
    const micros = parseRfc3339('2026-04-15T03:05:38.856294-07:00') as number
    const text = formatClickHouseMicros(micros)
    assert.equal(parseClickHouseTime(text), micros)
  })

  test('reads ClickHouse text without a fraction', () => {
    assert.equal(parseClickHouseTime('2026-04-15 10:05:38'), parseRfc3339('2026-04-15T10:05:38Z'))
  })

  test('formats years 1 to 2255', () => {
    const reference = (micros: number): string => {
      const iso = new Date(Math.floor(micros / 1000)).toISOString()
      const fraction = String(micros - Math.floor(micros / 1_000_000) * 1_000_000).padStart(6, '0')
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`
    }
    // Date.UTC reads years below 100 as 19xx, so the first instant comes from its text.
    const first = Date.parse('0001-01-01T00:00:00Z')
    // Microseconds stay exact as a double up to the year 2255.
    const last = Date.UTC(2255, 11, 31, 23, 59, 59)
    const instants = [first * 1000, Date.UTC(999, 11, 31, 23, 59, 59) * 1000 + 999_999, 0, 1, Date.UTC(2026, 11, 4, 9, 8, 7) * 1000 + 60_504, last * 1000 + 999_999]
    // A seeded walk over the years 1 to 2255, so a failure repeats.
    let seed = 12345
    for (let i = 0; i < 2000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      const ms = first + (seed / 2 ** 32) * (last - first)
      instants.push(Math.floor(ms) * 1000 + (seed % 1_000_000))
    }
    for (const micros of instants) assert.equal(formatClickHouseMicros(micros), reference(micros), String(micros))
  })

  test('formats the date across midnight', () => {
    const midnight = Date.UTC(2026, 11, 5) * 1000
    const cases: Array<[number, string]> = [
      [midnight - 1, '2026-12-04 23:59:59.999999'],
      [midnight, '2026-12-05 00:00:00.000000'],
      [midnight - 1, '2026-12-04 23:59:59.999999'],
      [midnight - 86_400_000_000, '2026-12-04 00:00:00.000000'],
      [-1, '1969-12-31 23:59:59.999999'],
      [0, '1970-01-01 00:00:00.000000'],
    ]
    for (const [micros, text] of cases) assert.equal(formatClickHouseMicros(micros), text, String(micros))
  })

  test('matches the Date-based formatter', () => {
    const first = Date.parse('0001-01-01T00:00:00Z')
    const last = Date.UTC(2255, 11, 31, 23, 59, 59, 999)
    fc.assert(
      fc.property(fc.integer({ min: first, max: last }), fc.integer({ min: 0, max: 999 }), (ms, extra) => {
        const micros = ms * 1000 + extra
        assert.equal(formatClickHouseMicros(micros), formatClickHouseMicrosWithDate(micros), String(micros))
      }),
      { numRuns: 20_000 },
    )
  })

  test('formats RFC 3339 in UTC with six digits', () => {
    const micros = parseRfc3339('2026-04-15T03:05:38.8-07:00') as number
    assert.equal(formatRfc3339Micros(micros), '2026-04-15T10:05:38.800000Z')
  })
})
