import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EventRow } from '../../src/schema/event.js'
import { SerializedEventRow } from '../../src/schema/serialized-row.js'
import { jsonEachRowBody } from '../../src/storage/json-lines.js'
import { makeEvent } from '../queue/support/spool-helpers.js'

function row(index: number, raw: string): EventRow {
  return { ...makeEvent(`0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a${String(index).padStart(2, '0')}`), raw }
}

/** Returns the rows as a worker writes them: lines side by side in one buffer. */
function linesOf(rows: EventRow[]): SerializedEventRow[] {
  const buffer = Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(''))
  const out: SerializedEventRow[] = []
  let offset = 0
  for (const r of rows) {
    const bytes = Buffer.byteLength(JSON.stringify(r)) + 1
    out.push(new SerializedEventRow(buffer, offset, offset + bytes, r.event_id))
    offset += bytes
  }
  return out
}

test('body has one line per row', () => {
  const plain = [row(0, 'plain ascii'), row(1, 'naïve — 日本語 ✓'), row(2, 'emoji 🔐 and "quotes"')]
  const first = [row(3, 'first body, first row'), row(4, 'first body, ü'), row(5, 'first body, last row')]
  const second = [row(6, 'second body 𝄞'), row(7, 'second body, last')]
  const firstLines = linesOf(first)
  const secondLines = linesOf(second)
  // Adjacent lines of one body, a gap in it, lines of another body and plain rows between them.
  const rows: object[] = [
    firstLines[0] as object,
    firstLines[1] as object,
    plain[0] as object,
    secondLines[0] as object,
    secondLines[1] as object,
    firstLines[2] as object,
    plain[1] as object,
    plain[2] as object,
  ]
  const expected = rows.map((r) => `${JSON.stringify(r)}\n`).join('')
  assert.equal(jsonEachRowBody(rows).toString('utf8'), expected)
})

test('skipped rows are left out', () => {
  const lines = linesOf([row(0, 'kept'), row(1, 'dropped as a duplicate'), row(2, 'kept too')])
  const body = jsonEachRowBody([lines[0] as object, lines[2] as object]).toString('utf8')
  assert.equal(body, `${JSON.stringify(row(0, 'kept'))}\n${JSON.stringify(row(2, 'kept too'))}\n`)
})

test('empty batch gives empty body', () => {
  assert.equal(jsonEachRowBody([]).length, 0)
})
