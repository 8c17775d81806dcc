import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { deflateSync, gzipSync } from 'node:zlib'
import { isSiemError } from '../../src/errors.js'
import { MalformedBody, bodyFormatOf, bodyText, decodeBody, parseCandidates } from '../../src/ingest/http/body.js'
import type { Candidate } from '../../src/ingest/types.js'

const BOM = Buffer.from([0xef, 0xbb, 0xbf])
const MAX = 1024 * 1024

const EVENT_A = { timestamp: '2026-04-15T10:00:00Z', source: { product: 'a' }, action: 'auth.login' }
const EVENT_B = { timestamp: '2026-04-15T10:00:01Z', source: { product: 'b' }, action: 'auth.logout' }

/** Runs the whole decode path the events route uses. */
async function candidatesOf(body: Buffer, contentType: string | undefined, contentEncoding: string | undefined): Promise<Candidate[]> {
  const decoded = await decodeBody(body, contentEncoding, MAX)
  return parseCandidates(bodyText(decoded), bodyFormatOf(contentType))
}

function objectValues(candidates: Candidate[]): unknown[] {
  return candidates.map((candidate) => {
    assert.equal(candidate.kind, 'object')
    return candidate.kind === 'object' ? candidate.value : undefined
  })
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSiemError(err), `expected a SiemError, got ${String(err)}`)
    assert.equal(err.code, code)
    return true
  })
}

describe('request body decoding', () => {
  test('gzip body of a BOM and two NDJSON lines gives 2 events', async () => {
    const text = `${JSON.stringify(EVENT_A)}\n${JSON.stringify(EVENT_B)}\n`
    const body = gzipSync(Buffer.concat([BOM, Buffer.from(text)]))
    const candidates = await candidatesOf(body, 'application/x-ndjson', 'gzip')
    assert.deepEqual(objectValues(candidates), [EVENT_A, EVENT_B])
  })

  test('a BOM before a JSON body is stripped', async () => {
    const body = Buffer.concat([BOM, Buffer.from(JSON.stringify({ events: [EVENT_A] }))])
    assert.deepEqual(objectValues(await candidatesOf(body, 'application/json', undefined)), [EVENT_A])
  })

  test('deflate and x-gzip are decoded', async () => {
    const json = Buffer.from(JSON.stringify({ events: [EVENT_A, EVENT_B] }))
    assert.equal((await candidatesOf(deflateSync(json), 'application/json', 'deflate')).length, 2)
    assert.equal((await candidatesOf(gzipSync(json), 'application/json', 'X-GZIP')).length, 2)
    assert.equal((await candidatesOf(json, 'application/json', 'identity')).length, 2)
  })

  test('unsupported Content-Encoding is a 415, checked before parsing', async () => {
    for (const encoding of ['br', 'compress', 'zstd', 'gzip, br']) {
      // The body is not even valid JSON: the encoding must be rejected first.
      const promise = candidatesOf(Buffer.from('{not json'), 'application/json', encoding)
      await rejectsWithCode(promise, 'SIEM_ERR_INGEST_UNSUPPORTED_ENCODING')
    }
    await assert.rejects(decodeBody(Buffer.from('x'), 'br', MAX), (err: unknown) => isSiemError(err) && err.statusCode === 415)
  })

  test('gzip garbage is a malformed body', async () => {
    await rejectsWithCode(decodeBody(Buffer.from('definitely not gzip'), 'gzip', MAX), 'SIEM_ERR_INGEST_MALFORMED_BODY')
    const truncated = gzipSync(Buffer.from(JSON.stringify({ events: [EVENT_A] }))).subarray(0, 20)
    await rejectsWithCode(decodeBody(truncated, 'gzip', MAX), 'SIEM_ERR_INGEST_MALFORMED_BODY')
  })

  test('a gzip bomb stops at the size limit with 413', async () => {
    const bomb = gzipSync(Buffer.alloc(5 * MAX, 0x20))
    assert.ok(bomb.length < MAX / 10)
    const promise = decodeBody(bomb, 'gzip', MAX)
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(isSiemError(err, 'SIEM_ERR_INGEST_PAYLOAD_TOO_LARGE'))
      assert.equal(err.statusCode, 413)
      return true
    })
  })

  test('invalid UTF-8 is a malformed body', () => {
    assert.throws(
      () => bodyText(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
      (err: unknown) => err instanceof MalformedBody && err.errorCode === 'invalid_utf8',
    )
  })
})

describe('body formats', () => {
  test('Content-Type picks JSON or NDJSON', () => {
    assert.equal(bodyFormatOf(undefined), 'json')
    assert.equal(bodyFormatOf('application/json; charset=utf-8'), 'json')
    assert.equal(bodyFormatOf('application/cloudevents+json'), 'json')
    assert.equal(bodyFormatOf('Application/X-NDJSON'), 'ndjson')
    assert.equal(bodyFormatOf('application/jsonl'), 'ndjson')
  })

  test('other Content-Types are 415', () => {
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      assert.throws(
        () => bodyFormatOf(type),
        (err: unknown) => isSiemError(err, 'SIEM_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE') && err.statusCode === 415,
      )
    }
  })

  test('JSON accepts an events envelope, an array or one object', () => {
    assert.deepEqual(objectValues(parseCandidates(JSON.stringify({ events: [EVENT_A, EVENT_B] }), 'json')), [EVENT_A, EVENT_B])
    assert.deepEqual(objectValues(parseCandidates(JSON.stringify([EVENT_A, 7]), 'json')), [EVENT_A, 7])
    assert.deepEqual(objectValues(parseCandidates(JSON.stringify(EVENT_A), 'json')), [EVENT_A])
    assert.deepEqual(parseCandidates('{"events": []}', 'json'), [])
  })

  test('JSON that is not an event container is malformed', () => {
    const cases: Array<[string, string]> = [
      ['{"events": {"a": 1}}', 'invalid_body'],
      ['42', 'invalid_body'],
      ['"text"', 'invalid_body'],
      ['null', 'invalid_body'],
      ['{"events": [', 'malformed_json'],
      ['', 'malformed_json'],
      ['{"a":1}{"b":2}', 'malformed_json'],
    ]
    for (const [text, code] of cases) {
      assert.throws(
        () => parseCandidates(text, 'json'),
        (err: unknown) => err instanceof MalformedBody && err.errorCode === code && err.rawText === text,
        text,
      )
    }
  })

  test('NDJSON keeps good lines next to bad ones', () => {
    const text = [JSON.stringify(EVENT_A), '{"broken":', '', '   ', JSON.stringify(EVENT_B) + '\r', '7'].join('\n')
    const candidates = parseCandidates(text, 'ndjson')
    assert.equal(candidates.length, 4)
    assert.deepEqual(candidates[0], { kind: 'object', value: EVENT_A, rawText: JSON.stringify(EVENT_A) })
    const broken = candidates[1]
    assert.equal(broken?.kind, 'unparsable')
    if (broken?.kind === 'unparsable') {
      assert.equal(broken.rawText, '{"broken":')
      assert.equal(broken.errorCode, 'malformed_json')
      assert.equal(broken.errors[0]?.code, 'malformed_json')
    }
    assert.deepEqual(candidates[2], { kind: 'object', value: EVENT_B, rawText: JSON.stringify(EVENT_B) })
    assert.deepEqual(candidates[3], { kind: 'object', value: 7, rawText: '7' })
  })

  test('NDJSON without a final newline reads the last line', () => {
    const text = `${JSON.stringify(EVENT_A)}\n${JSON.stringify(EVENT_B)}`
    assert.equal(parseCandidates(text, 'ndjson').length, 2)
    assert.equal(parseCandidates('', 'ndjson').length, 0)
  })
})
