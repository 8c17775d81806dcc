import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { RecentIds, parseUuidWords } from '../../src/ingest/recent-ids.js'

const T = 'tenant-a'

/** Builds a UUID whose last group is `n`, so that tests can name ids by number. */
function uuid(n: number): string {
  return `0190a1b2-c3d4-7e5f-8a9b-${n.toString(16).padStart(12, '0')}`
}

test('recent ids remembers within the window', () => {
  const ids = new RecentIds(10, 1000)
  ids.add(T, uuid(1), 0)
  assert.equal(ids.has(T, uuid(1), 500), true)
  assert.equal(ids.has(T, uuid(1), 1000), true)
  assert.equal(ids.has(T, uuid(1), 1001), false)
  assert.equal(ids.has(T, uuid(2), 500), false)
})

test('recent ids claim adds once', () => {
  const ids = new RecentIds(10, 1000)
  assert.equal(ids.claim(T, uuid(1), 0), true)
  assert.equal(ids.claim(T, uuid(1), 500), false)
  assert.equal(ids.claim('tenant-b', uuid(1), 500), true)
  // A failed claim leaves the first time in place, so the id expires 1000 ms after it.
  assert.equal(ids.claim(T, uuid(1), 1001), true)
  assert.equal(ids.claim(T, 'not-a-uuid', 1002), true)
  assert.equal(ids.claim(T, 'not-a-uuid', 1003), true)
  assert.equal(ids.size, 2)
})

test('recent ids keeps each tenant apart', () => {
  const ids = new RecentIds(10, 60_000)
  ids.add('tenant-a', uuid(1), 0)
  assert.equal(ids.has('tenant-b', uuid(1), 1), false)
  ids.add('tenant-b', uuid(1), 2)
  ids.delete('tenant-a', uuid(1))
  assert.equal(ids.has('tenant-a', uuid(1), 3), false)
  assert.equal(ids.has('tenant-b', uuid(1), 3), true)
})

test('recent ids folds case and urn prefix', () => {
  const ids = new RecentIds(10, 60_000)
  const id = randomUUID()
  ids.add(T, id.toUpperCase(), 0)
  assert.equal(ids.has(T, id, 1), true)
  assert.equal(ids.has(T, `urn:uuid:${id}`, 1), true)
  assert.equal(ids.has(T, `URN:UUID:${id}`, 1), true)
})

test('recent ids ignores non-UUID ids', () => {
  const ids = new RecentIds(10, 60_000)
  for (const id of ['', 'abc', `${uuid(1)}0`, uuid(1).replaceAll('-', ''), uuid(1).replace('a', 'g'), `x${uuid(1).slice(1)}`]) {
    ids.add(T, id, 0)
    assert.equal(ids.has(T, id, 1), false, JSON.stringify(id))
  }
  assert.equal(ids.size, 0)
})

test('uuid parse reads every group', () => {
  const words = new Uint32Array(4)
  assert.equal(parseUuidWords('01234567-89ab-CDEF-fedc-ba9876543210', words), true)
  assert.deepEqual([...words], [0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210])
  assert.equal(parseUuidWords('urn:uuid:ffffffff-ffff-ffff-ffff-ffffffffffff', words), true)
  assert.deepEqual([...words], [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff])
})

test('uuid parse rejects a bad digit anywhere', () => {
  const words = new Uint32Array(4)
  const id = '01234567-89ab-cdef-fedc-ba9876543210'
  for (let index = 0; index < id.length; index++) {
    if (id[index] === '-') continue
    // A letter past f, a full-width digit (U+FF10) and a character that shares a hex digit's low byte (U+0131).
    for (const bad of ['g', '\uff10', '\u0131']) {
      const text = `${id.slice(0, index)}${bad}${id.slice(index + 1)}`
      assert.equal(parseUuidWords(text, words), false, JSON.stringify(text))
    }
  }
  assert.equal(parseUuidWords(`${id.slice(0, 8)}_${id.slice(9)}`, words), false)
})

test('recent ids evicts the oldest past the count', () => {
  const ids = new RecentIds(3, 60_000)
  for (let n = 1; n <= 4; n++) ids.add(T, uuid(n), n)
  assert.equal(ids.has(T, uuid(1), 10), false)
  assert.equal(ids.has(T, uuid(2), 10), true)
  assert.equal(ids.has(T, uuid(4), 10), true)
  assert.equal(ids.size, 3)
})

test('recent ids evicts by age on add', () => {
  const ids = new RecentIds(100, 1000)
  ids.add(T, uuid(1), 0)
  ids.add(T, uuid(2), 5000)
  assert.equal(ids.size, 1)
  assert.equal(ids.has(T, uuid(2), 5000), true)
})

test('recent ids keeps a re-added id', () => {
  const ids = new RecentIds(2, 60_000)
  ids.add(T, uuid(1), 1)
  ids.add(T, uuid(2), 2)
  ids.add(T, uuid(1), 3)
  assert.equal(ids.has(T, uuid(1), 4), true)
  // The ring is full: adding a third id evicts the oldest live one, 2, not the re-added 1.
  ids.add(T, uuid(3), 4)
  assert.equal(ids.has(T, uuid(1), 5), true)
  assert.equal(ids.has(T, uuid(2), 5), false)
  assert.equal(ids.has(T, uuid(3), 5), true)
})

test('recent ids delete releases a claim', () => {
  const ids = new RecentIds(10, 60_000)
  ids.add(T, uuid(1), 1)
  ids.delete(T, uuid(1))
  assert.equal(ids.has(T, uuid(1), 2), false)
  ids.add(T, uuid(2), 3)
  assert.equal(ids.has(T, uuid(2), 3), true)
  assert.equal(ids.size, 1)
})

test('recent ids stays bounded under load', () => {
  const ids = new RecentIds(1000, 60_000)
  for (let n = 0; n < 200_000; n++) ids.add(T, uuid(n), n / 10)
  assert.equal(ids.size, 1000)
  assert.equal(ids.has(T, uuid(199_999), 20_000), true)
  assert.equal(ids.has(T, uuid(199_000), 20_000), true)
  assert.equal(ids.has(T, uuid(198_999), 20_000), false)
})

test('recent ids with zero entries is off', () => {
  const ids = new RecentIds(0, 60_000)
  ids.add(T, uuid(1), 1)
  assert.equal(ids.enabled, false)
  assert.equal(ids.has(T, uuid(1), 1), false)
})

// The hash table moves entries back when one leaves a probe run. A mistake
// there loses or invents ids only for some orders of adds, claims and deletes, so a
// property test compares with the documented rule kept in a plain array.
// That rule: a ring of at most `capacity` entries in the order added. A
// deleted or re-added id leaves a removed entry, which keeps its place until
// it is the oldest.
test('recent ids matches a plain ring', () => {
  const capacity = 8
  const maxAgeMs = 50
  const operation = fc.record({
    kind: fc.constantFrom('add', 'claim', 'delete', 'has'),
    tenant: fc.constantFrom('a', 'b'),
    id: fc.integer({ min: 0, max: 20 }),
    advance: fc.integer({ min: 0, max: 10 }),
  })
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 300 }), (operations) => {
      const ids = new RecentIds(capacity, maxAgeMs)
      const ring: Array<{ key: string; at: number; live: boolean }> = []
      const liveEntry = (key: string) => ring.find((entry) => entry.live && entry.key === key)
      let now = 0
      const makeRoom = () => {
        for (;;) {
          const oldest = ring[0]
          if (oldest === undefined) return
          if (oldest.live && ring.length < capacity && now - oldest.at <= maxAgeMs) return
          ring.shift()
        }
      }
      for (const op of operations) {
        now += op.advance
        const key = `${op.tenant}/${op.id}`
        if (op.kind === 'add') {
          const existing = liveEntry(key)
          if (existing !== undefined) existing.live = false
          makeRoom()
          ring.push({ key, at: now, live: true })
          ids.add(op.tenant, uuid(op.id), now)
        } else if (op.kind === 'claim') {
          const existing = liveEntry(key)
          const seen = existing !== undefined && now - existing.at <= maxAgeMs
          if (!seen) {
            if (existing !== undefined) existing.live = false
            makeRoom()
            ring.push({ key, at: now, live: true })
          }
          assert.equal(ids.claim(op.tenant, uuid(op.id), now), !seen, `claim ${key} at ${now}`)
        } else if (op.kind === 'delete') {
          const existing = liveEntry(key)
          if (existing !== undefined) existing.live = false
          ids.delete(op.tenant, uuid(op.id))
        } else {
          const at = liveEntry(key)?.at
          assert.equal(ids.has(op.tenant, uuid(op.id), now), at !== undefined && now - at <= maxAgeMs, `has ${key} at ${now}`)
        }
        assert.equal(ids.size, ring.filter((entry) => entry.live).length)
      }
      for (const key of new Set(ring.map((entry) => entry.key))) {
        const [tenant, id] = key.split('/') as [string, string]
        const at = liveEntry(key)?.at
        assert.equal(ids.has(tenant, uuid(Number(id)), now), at !== undefined && now - at <= maxAgeMs, `has ${key} at the end`)
      }
    }),
    { numRuns: 500 },
  )
})
