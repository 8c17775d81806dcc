import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { loadConfig } from '../../src/config/load.js'
import { CefNormalizer, type CefCanonicalEvent } from '../../src/ingest/cef/normalizer.js'
import { parseCefLine } from '../../src/ingest/cef/parser.js'
import type { Candidate } from '../../src/ingest/types.js'
import { EventValidator } from '../../src/schema/validate.js'

const config = loadConfig({ env: {} })
const normalizer = new CefNormalizer(config.cef)
const validator = new EventValidator(config.validation)

/** Characters that stress the escaping rules, mixed with ordinary text. */
const trickyChar = fc.constantFrom('\\', '=', '|', ' ', '\n', '\r', '\t', 'a', 'Z', '0', '.', '-', '_', 'é', '\u{1F600}', 'CEF:0|')
const text = fc.array(fc.oneof(trickyChar, fc.string({ maxLength: 3 })), { maxLength: 12 }).map((parts) => parts.join(''))

function escapeHeader(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('|', '\\|')
}

function escapeValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('=', '\\=').replaceAll('\n', '\\n').replaceAll('\r', '\\r')
}

const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,11}$/)
const extensionValue = text.map((value) => value.replace(/[ \t]+$/, ''))
const extension = fc.uniqueArray(fc.tuple(key, extensionValue), { maxLength: 8, selector: ([name]) => name })
const prefix = fc.constantFrom(
  '',
  'Sep 29 08:26:10 host-a ',
  '<132>Aug 14 14:26:55 ',
  'Jul 10 10:39:04 alert.notice 192.0.2.9 Fwd: ',
  '<165>1 2024-05-01T10:00:00.123Z host-b app - ID47 - \uFEFF',
  '<38>Feb 29 00:00:00 relay sshd[1]: ',
)
const header = fc.tuple(fc.constantFrom(0, 1), text, text, text, text, text, fc.oneof(text, fc.integer({ min: -5, max: 99 }).map(String)))

function assertCandidate(candidate: Candidate): void {
  assert.ok(candidate.kind === 'object' || candidate.kind === 'unparsable')
  if (candidate.kind === 'unparsable') {
    assert.ok(candidate.errors.length > 0)
    assert.equal(typeof candidate.errorCode, 'string')
    return
  }
  const event = candidate.value as CefCanonicalEvent
  assert.equal(typeof event.timestamp, 'string')
  assert.ok(Number.isInteger(event.severity) && event.severity >= 1 && event.severity <= 10)
  assert.match(event.action, /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/)
  assert.ok(event.action.length <= 256)
  JSON.stringify(event)
  validator.validate({ value: event, rawText: event.raw, tenantId: 'default', receivedAt: Date.now() * 1000 })
}

describe('CEF parser fuzz', () => {
  test('generated CEF lines round-trip', () => {
    fc.assert(
      fc.property(prefix, header, extension, (syslog, [version, vendor, product, deviceVersion, id, name, severity], pairs) => {
        const head = [vendor, product, deviceVersion, id, name, severity].map(escapeHeader).join('|')
        const body = pairs.map(([name, value]) => `${name}=${escapeValue(value)}`).join(' ')
        const line = `${syslog}CEF:${version}|${head}|${body}`
        const parsed = parseCefLine(line)
        assert.ok(parsed.ok, line)
        const record = parsed.record
        assert.equal(record.cefStart, syslog.length)
        assert.deepEqual(
          [record.deviceVendor, record.deviceProduct, record.deviceVersion, record.signatureId, record.name, record.severity],
          [vendor, product, deviceVersion, id, name, severity],
        )
        assert.deepEqual({ ...record.extension }, Object.fromEntries(pairs))
        assertCandidate(normalizer.normalize(line, { receivedAt: Date.now(), peerAddress: '127.0.0.1' }))
      }),
      { numRuns: 3000 },
    )
  })

  test('arbitrary text never throws', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.tuple(prefix, text, text).map(([syslog, middle, tail]) => `${syslog}${middle}CEF:0|${tail}`),
      fc.array(fc.oneof(trickyChar, fc.constantFrom('|', 'rt=', ' cs1Label=', ' cs1=', 'CEF:1|')), { maxLength: 40 }).map((parts) =>
        `CEF:0|${parts.join('')}`,
      ),
    )
    fc.assert(
      fc.property(line, (input) => {
        assertCandidate(normalizer.normalize(input, { receivedAt: Date.now(), peerAddress: undefined }))
      }),
      { numRuns: 5000 },
    )
  })
})
