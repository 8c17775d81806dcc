import { test } from 'node:test'
import assert from 'node:assert/strict'
import { truncateText } from '../../src/schema/truncate.js'

test('truncateText keeps short text whole', () => {
  assert.equal(truncateText('abc', 3), 'abc')
  assert.equal(truncateText('', 0), '')
})

test('truncateText cuts at the limit', () => {
  assert.equal(truncateText('abcdef', 4), 'abcd')
  assert.equal(truncateText('a😀b', 3), 'a😀')
})

test('truncateText never splits a surrogate pair', () => {
  assert.equal(truncateText('a😀b', 2), 'a')
  assert.equal(truncateText('😀😀', 3), '😀')
  assert.equal(truncateText('😀', 1), '')
})
