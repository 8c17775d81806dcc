import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseProjection, toCanonicalEvent } from '../../src/query/event-shape.js'

const ROW = {
  event_id: '2c3a3fad-000f-4da1-866e-02908d291fce',
  timestamp: '2026-12-05 01:42:51.000000',
  metadata: '{"__proto__":{"role":"admin"},"x":1,"list":[1,2]}',
}

function metadataOf(fields: string[]): unknown {
  return toCanonicalEvent(ROW, parseProjection(fields))['metadata']
}

test('metadata path picks a __proto__ key', () => {
  const picked = metadataOf(['metadata.__proto__', 'metadata.x'])
  assert.equal(JSON.stringify(picked), '{"__proto__":{"role":"admin"},"x":1}')
})

test('metadata path picks a nested __proto__ key', () => {
  const picked = metadataOf(['metadata.__proto__.role'])
  assert.equal(JSON.stringify(picked), '{"__proto__":{"role":"admin"}}')
})

test('metadata path reads only object keys', () => {
  assert.equal(JSON.stringify(metadataOf(['metadata.constructor'])), '{}')
  assert.equal(JSON.stringify(metadataOf(['metadata.x.toFixed'])), '{}')
  assert.equal(JSON.stringify(metadataOf(['metadata.list.length'])), '{}')
})
