import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { FrameDecoder, type FramingError } from '../../src/ingest/cef/framing.js'

interface Recorded {
  messages: string[]
  oversized: Array<[string, number | undefined]>
  incomplete: Array<[string, number]>
  errors: FramingError[]
}

function decode(chunks: Array<string | Buffer>, maxMessageSize = 1024, finish = true): Recorded {
  const recorded: Recorded = { messages: [], oversized: [], incomplete: [], errors: [] }
  const decoder = new FrameDecoder(maxMessageSize, {
    message: (text) => recorded.messages.push(text),
    oversized: (text, bytes) => recorded.oversized.push([text, bytes]),
    incomplete: (text, bytes) => recorded.incomplete.push([text, bytes]),
  })
  for (const chunk of chunks) {
    const error = decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    if (error !== undefined) recorded.errors.push(error)
  }
  if (finish) decoder.end()
  return recorded
}

/** Every way of cutting `data` in two, as chunk lists. */
function everySplit(data: Buffer): Buffer[][] {
  const splits: Buffer[][] = []
  for (let at = 0; at <= data.length; at++) splits.push([data.subarray(0, at), data.subarray(at)])
  return splits
}

const LINE_A = 'CEF:0|V|P|1|1|n|3|msg=héllo wörld'
const LINE_B = '<38>Dec 10 06:55:46 h CEF:0|V|P|1|2|n|3|a=1'

describe('newline framing', () => {
  test('lines with LF and CRLF', () => {
    const result = decode([`${LINE_A}\r\n${LINE_B}\n\n`])
    assert.deepEqual(result.messages, [LINE_A, LINE_B])
  })

  test('split at every byte', () => {
    const data = Buffer.from(`${LINE_A}\n${LINE_B}\n`)
    for (const chunks of everySplit(data)) {
      assert.deepEqual(decode(chunks).messages, [LINE_A, LINE_B])
    }
  })

  test('one byte at a time', () => {
    const data = Buffer.from(`${LINE_A}\n${LINE_B}\n`)
    const chunks = [...data].map((byte) => Buffer.from([byte]))
    assert.deepEqual(decode(chunks).messages, [LINE_A, LINE_B])
  })

  test('last line without newline at end', () => {
    assert.deepEqual(decode([`${LINE_A}\n${LINE_B}`]).messages, [LINE_A, LINE_B])
    assert.deepEqual(decode([`${LINE_A}\n${LINE_B}`], 1024, false).messages, [LINE_A])
  })

  test('oversized line is truncated and skipped', () => {
    const long = 'x'.repeat(50)
    const result = decode([`${long}\nshort\n`], 20)
    assert.deepEqual(result.oversized, [['x'.repeat(20), 50]])
    assert.deepEqual(result.messages, ['short'])
  })

  test('oversized line across chunks', () => {
    const result = decode(['y'.repeat(15), 'y'.repeat(15), 'y'.repeat(15), '\nshort\n'], 20)
    assert.equal(result.oversized.length, 1)
    assert.equal(result.oversized[0]?.[0], 'y'.repeat(20))
    assert.deepEqual(result.messages, ['short'])
  })
})

describe('octet-counting framing', () => {
  function frame(text: string): string {
    return `${Buffer.byteLength(text)} ${text}`
  }

  test('frames back to back', () => {
    const result = decode([frame(LINE_A) + frame(LINE_B)])
    assert.deepEqual(result.messages, [LINE_A, LINE_B])
    assert.deepEqual(result.errors, [])
  })

  test('split at every byte', () => {
    const data = Buffer.from(frame(LINE_A) + frame(LINE_B))
    for (const chunks of everySplit(data)) {
      const result = decode(chunks)
      assert.deepEqual(result.messages, [LINE_A, LINE_B])
      assert.deepEqual(result.incomplete, [])
    }
  })

  test('trailing newline inside or between frames', () => {
    const result = decode([`${frame(`${LINE_A}\n`)}\n${frame(LINE_B)}`])
    assert.deepEqual(result.messages, [LINE_A, LINE_B])
  })

  test('message containing a newline stays one message', () => {
    const text = 'CEF:0|V|P|1|1|n|3|msg=two\nlines'
    assert.deepEqual(decode([frame(text)]).messages, [text])
  })

  test('bad count stops the decoder', () => {
    const result = decode([`${frame(LINE_A)}12x${LINE_B}`, frame(LINE_B)])
    assert.deepEqual(result.messages, [LINE_A])
    assert.equal(result.errors.length, 1)
    assert.equal(result.errors[0]?.code, 'invalid_octet_count')
  })

  test('leading zero is invalid', () => {
    assert.equal(decode(['05 hello']).errors[0]?.code, 'invalid_octet_count')
  })

  test('too many digits is invalid', () => {
    assert.equal(decode(['12345678901']).errors[0]?.code, 'invalid_octet_count')
  })

  test('count over the limit', () => {
    const result = decode(['2000 abc'], 1024)
    assert.equal(result.errors[0]?.code, 'octet_count_too_large')
    assert.deepEqual(result.messages, [])
  })

  test('frame cut off at end', () => {
    const result = decode([`${frame(LINE_A)}100 partial`])
    assert.deepEqual(result.messages, [LINE_A])
    assert.deepEqual(result.incomplete, [['partial', 100]])
  })
})
