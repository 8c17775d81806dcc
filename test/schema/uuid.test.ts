import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uuidv7 } from '../../src/schema/uuid.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('uuidv7 sets version and variant', () => {
  for (let i = 0; i < 1000; i++) assert.match(uuidv7(), UUID_V7)
})

test('uuidv7 carries the millisecond time', () => {
  const before = Date.now()
  const id = uuidv7()
  const after = Date.now()
  const millis = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)
  assert.ok(millis >= before, `${millis} < ${before}`)
  assert.ok(millis <= after + 1, `${millis} > ${after}`)
})

test('uuidv7 ids sort in creation order', () => {
  const ids: string[] = []
  for (let i = 0; i < 20_000; i++) ids.push(uuidv7())
  const sorted = [...ids].sort()
  assert.deepEqual(sorted, ids)
  assert.equal(new Set(ids).size, ids.length)
})

test('uuidv7 stays ordered within one millisecond', () => {
  // 5000 ids take well under the counter's range, most of them in the same millisecond.
  const ids = Array.from({ length: 5000 }, () => uuidv7())
  assert.deepEqual([...ids].sort(), ids)
  assert.equal(new Set(ids).size, ids.length)
})
