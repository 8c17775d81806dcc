import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RecentIds } from '../../src/ingest/recent-ids.js'

test('recent ids remembers within the window', () => {
  const ids = new RecentIds(10, 1000)
  ids.add('a', 0)
  assert.equal(ids.has('a', 500), true)
  assert.equal(ids.has('a', 1000), true)
  assert.equal(ids.has('a', 1001), false)
  assert.equal(ids.has('b', 500), false)
})

test('recent ids evicts the oldest past the count', () => {
  const ids = new RecentIds(3, 60_000)
  for (const [index, id] of ['a', 'b', 'c', 'd'].entries()) ids.add(id, index)
  assert.equal(ids.has('a', 10), false)
  assert.equal(ids.has('b', 10), true)
  assert.equal(ids.has('d', 10), true)
  assert.equal(ids.size, 3)
})

test('recent ids evicts by age on add', () => {
  const ids = new RecentIds(100, 1000)
  ids.add('old', 0)
  ids.add('new', 5000)
  assert.equal(ids.size, 1)
  assert.equal(ids.has('new', 5000), true)
})

test('recent ids keeps a re-added id', () => {
  const ids = new RecentIds(2, 60_000)
  ids.add('a', 1)
  ids.add('b', 2)
  ids.add('a', 3)
  // The ring now holds a@1, b@2, a@3; evicting a@1 must not forget a@3.
  assert.equal(ids.has('a', 4), true)
  ids.add('c', 4)
  assert.equal(ids.has('a', 5), true)
  assert.equal(ids.has('c', 5), true)
})

test('recent ids delete releases a claim', () => {
  const ids = new RecentIds(10, 60_000)
  ids.add('a', 1)
  ids.delete('a')
  assert.equal(ids.has('a', 2), false)
  ids.add('b', 3)
  assert.equal(ids.has('b', 3), true)
})

test('recent ids stays bounded under load', () => {
  const ids = new RecentIds(1000, 60_000)
  for (let i = 0; i < 200_000; i++) ids.add(`id-${i}`, i)
  assert.equal(ids.size, 1000)
  assert.equal(ids.has('id-199999', 200_000), true)
  assert.equal(ids.has('id-198999', 200_000), false)
})

test('recent ids with zero entries is off', () => {
  const ids = new RecentIds(0, 60_000)
  ids.add('a', 1)
  assert.equal(ids.enabled, false)
  assert.equal(ids.has('a', 1), false)
})
