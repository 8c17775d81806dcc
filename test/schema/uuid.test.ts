import { test } from 'node:test'
import assert from 'node:assert/strict'
import { uuidv7 } from '../../src/schema/uuid.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('uuidv7 sets version and variant', () => {
  for (let i = 0; i < 1000; i++) assert.match(uuidv7(), UUID_V7)
})

test('uuidv7 carries the millisecond time', () => {
  // Ahead of the clock, since the generator never goes back in time.
  const at = Date.now() + 10_000_000
  const id = uuidv7(at)
  const millis = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)
  assert.equal(millis, at)
})

test('uuidv7 ids sort in creation order', () => {
  const ids: string[] = []
  for (let i = 0; i < 20_000; i++) ids.push(uuidv7())
  const sorted = [...ids].sort()
  assert.deepEqual(sorted, ids)
  assert.equal(new Set(ids).size, ids.length)
})

test('uuidv7 stays ordered within one millisecond', () => {
  const at = Date.now() + 50_000_000
  const ids = Array.from({ length: 5000 }, () => uuidv7(at))
  assert.deepEqual([...ids].sort(), ids)
  assert.equal(new Set(ids).size, ids.length)
})
