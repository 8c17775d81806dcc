/**
 * Event ids accepted recently, per tenant, so that a sender that retries a
 * request after a timeout does not get its events stored twice. Bounded by
 * count and by age.
 *
 * Ids are UUIDs, so each one is kept as four 32-bit words in typed arrays
 * allocated once: an open-addressing hash table over a ring of entries in
 * the order they were added. That costs about 45 bytes an id (22 MB for
 * the default 500,000) and no object on the JavaScript heap. A Map of
 * strings took an estimated 200 bytes an id or more. Every entry lived
 * long enough to reach the old generation and then died, so V8 kept
 * growing its heap under a steady load (the soak in BENCHMARKS.md).
 *
 * Each table slot contains the entry's 32-bit hash beside its ring
 * position. A probe compares hashes within the table and reads an entry's
 * words only when the hash matches, and moving entries after a removal
 * needs no words at all. With 500,000 ids the table and the words are far
 * larger than the CPU caches. Reading an entry's words at every probe cost
 * several cache misses an id, and the window was then 17 % of the main
 * thread's time at the maximum rate (`node dist/bench/recent-ids.js`
 * compares the two layouts).
 *
 * The window lives in memory. Start-up refills it with `claim` from the
 * events stored or spooled before the restart (IngestPipeline
 * `restoreResendWindow`).
 */
export class RecentIds {
  readonly #capacity: number
  readonly #maxAgeMs: number
  /** Ring of entries, oldest at `#head`: id words, tenant number and time added. A removed entry has the time NaN. */
  readonly #words: Uint32Array
  readonly #tenants: Uint32Array
  readonly #times: Float64Array
  #head = 0
  #used = 0
  #live = 0
  /**
   * Hash table with linear probing, two words a slot: a ring position plus
   * one (0 when empty), then the entry's hash before masking.
   */
  readonly #table: Uint32Array
  readonly #mask: number
  readonly #tenantNumbers = new Map<string, number>()
  /** Scratch words of the id being added or looked up. */
  readonly #key = new Uint32Array(4)

  constructor(maxEntries: number, maxAgeMs: number) {
    this.#capacity = Math.max(0, Math.floor(maxEntries))
    this.#maxAgeMs = maxAgeMs
    this.#words = new Uint32Array(this.#capacity * 4)
    this.#tenants = new Uint32Array(this.#capacity)
    this.#times = new Float64Array(this.#capacity)
    // At most half full, so that probe runs stay short.
    let size = 1
    while (size < this.#capacity * 2) size *= 2
    this.#table = new Uint32Array(this.#capacity === 0 ? 0 : size * 2)
    this.#mask = size - 1
  }

  get enabled(): boolean {
    return this.#capacity > 0
  }

  /** Number of ids in the window. */
  get size(): number {
    return this.#live
  }

  has(tenant: string, id: string, now: number = Date.now()): boolean {
    const slot = this.#find(tenant, id)
    if (slot < 0) return false
    const position = (this.#table[slot * 2] as number) - 1
    return now - (this.#times[position] as number) <= this.#maxAgeMs
  }

  /**
   * Adds `id` for `tenant` unless the window has it already, with one parse
   * of the id. Returns false for an id seen within the window, which is then
   * left as it was. An id that is not a UUID is not added and returns true.
   */
  claim(tenant: string, id: string, now: number = Date.now()): boolean {
    if (!this.enabled || !this.#parse(id)) return true
    const tenantNumber = this.#tenantNumber(tenant)
    const hash = this.#hash(this.#key, tenantNumber)
    const existing = this.#lookup(this.#key, tenantNumber, hash)
    if (existing >= 0) {
      const position = (this.#table[existing * 2] as number) - 1
      if (now - (this.#times[position] as number) <= this.#maxAgeMs) return false
      this.#removeAt(existing)
    }
    this.#append(tenantNumber, hash, now)
    return true
  }

  /**
   * Adds `id` for `tenant` as of `now`. An id that is not a UUID is not
   * added, because four words cannot tell such ids apart and a false match
   * would drop an event.
   */
  add(tenant: string, id: string, now: number = Date.now()): void {
    if (!this.enabled || !this.#parse(id)) return
    const tenantNumber = this.#tenantNumber(tenant)
    const hash = this.#hash(this.#key, tenantNumber)
    const existing = this.#lookup(this.#key, tenantNumber, hash)
    if (existing >= 0) this.#removeAt(existing)
    this.#append(tenantNumber, hash, now)
  }

  /** Appends the id in `#key`, whose hash is `hash`, to the ring and the table, after making room. */
  #append(tenantNumber: number, hash: number, now: number): void {
    this.#evict(now)
    const position = (this.#head + this.#used) % this.#capacity
    this.#words.set(this.#key, position * 4)
    this.#tenants[position] = tenantNumber
    this.#times[position] = now
    this.#used++
    this.#live++
    let slot = hash & this.#mask
    while (this.#table[slot * 2] !== 0) slot = (slot + 1) & this.#mask
    this.#table[slot * 2] = position + 1
    this.#table[slot * 2 + 1] = hash
  }

  delete(tenant: string, id: string): void {
    const slot = this.#find(tenant, id)
    if (slot >= 0) this.#removeAt(slot)
  }

  /** Frees ring entries from the oldest while the ring is full or the oldest is too old. */
  #evict(now: number): void {
    while (this.#used > 0) {
      const head = this.#head
      const at = this.#times[head] as number
      const removed = Number.isNaN(at)
      if (!removed && this.#used < this.#capacity && now - at <= this.#maxAgeMs) break
      if (!removed) {
        const slot = this.#slotOf(head)
        if (slot >= 0) this.#removeAt(slot)
      }
      this.#head = (head + 1) % this.#capacity
      this.#used--
    }
  }

  /** Returns the table slot that contains `id` for `tenant`, or -1. */
  #find(tenant: string, id: string): number {
    if (!this.enabled || !this.#parse(id)) return -1
    const tenantNumber = this.#tenantNumbers.get(tenant)
    return tenantNumber === undefined ? -1 : this.#lookup(this.#key, tenantNumber, this.#hash(this.#key, tenantNumber))
  }

  /** Returns the table slot that points at ring `position`, which must be a live entry, or -1 if none does. */
  #slotOf(position: number): number {
    const base = position * 4
    const hash = hashIdWords(
      this.#words[base] as number,
      this.#words[base + 1] as number,
      this.#words[base + 2] as number,
      this.#words[base + 3] as number,
      this.#tenants[position] as number,
    )
    const table = this.#table
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const entry = table[slot * 2] as number
      if (entry === 0) return -1
      if (entry === position + 1) return slot
    }
  }

  /** Returns the table slot that contains the id `key` for `tenantNumber`, whose hash is `hash`, or -1. */
  #lookup(key: Uint32Array, tenantNumber: number, hash: number): number {
    const words = this.#words
    const table = this.#table
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const entry = table[slot * 2] as number
      if (entry === 0) return -1
      if (table[slot * 2 + 1] !== hash) continue
      const base = (entry - 1) * 4
      if (
        words[base] === key[0] &&
        words[base + 1] === key[1] &&
        words[base + 2] === key[2] &&
        words[base + 3] === key[3] &&
        this.#tenants[entry - 1] === tenantNumber
      ) {
        return slot
      }
    }
  }

  /** Empties a table slot and marks its ring entry removed. Later entries of the probe run move back into the gap. */
  #removeAt(slot: number): void {
    const table = this.#table
    const position = (table[slot * 2] as number) - 1
    this.#times[position] = Number.NaN
    this.#live--
    let hole = slot
    for (let next = (slot + 1) & this.#mask; table[next * 2] !== 0; next = (next + 1) & this.#mask) {
      const home = (table[next * 2 + 1] as number) & this.#mask
      // The entry may fill the hole only if its home is not between the hole and itself.
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next
      if (!between) {
        table[hole * 2] = table[next * 2] as number
        table[hole * 2 + 1] = table[next * 2 + 1] as number
        hole = next
      }
    }
    table[hole * 2] = 0
    table[hole * 2 + 1] = 0
  }

  #hash(key: Uint32Array, tenantNumber: number): number {
    return hashIdWords(key[0] as number, key[1] as number, key[2] as number, key[3] as number, tenantNumber)
  }


  #tenantNumber(tenant: string): number {
    let value = this.#tenantNumbers.get(tenant)
    if (value === undefined) {
      value = this.#tenantNumbers.size
      this.#tenantNumbers.set(tenant, value)
    }
    return value
  }

  /** Parses a UUID into `#key`. Returns false when `id` is not a UUID. */
  #parse(id: string): boolean {
    return parseUuidWords(id, this.#key)
  }
}

/**
 * Parses a UUID (any case, `urn:uuid:` prefix allowed) into four 32-bit
 * words in `target`. Returns false when `id` is not a UUID.
 */
export function parseUuidWords(id: string, target: Uint32Array): boolean {
  const start = id.length - 36
  if (start !== 0 && !(start === 9 && id.slice(0, 9).toLowerCase() === 'urn:uuid:')) return false
  if (id.charCodeAt(start + 8) !== DASH || id.charCodeAt(start + 13) !== DASH || id.charCodeAt(start + 18) !== DASH || id.charCodeAt(start + 23) !== DASH) {
    return false
  }
  const first = hexRun(id, start, 8, 0)
  const second = hexRun(id, start + 14, 4, hexRun(id, start + 9, 4, 0))
  const third = hexRun(id, start + 24, 4, hexRun(id, start + 19, 4, 0))
  const fourth = hexRun(id, start + 28, 8, 0)
  if (first < 0 || second < 0 || third < 0 || fourth < 0) return false
  target[0] = first
  target[1] = second
  target[2] = third
  target[3] = fourth
  return true
}

const DASH = 45

/** Value of each hex digit among the code units below 128, and -1 for every other one. */
const HEX_VALUES = new Int8Array(128).fill(-1)
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUES[digit.toString(16).charCodeAt(0)] = digit
  HEX_VALUES[digit.toString(16).toUpperCase().charCodeAt(0)] = digit
}

/**
 * Returns `value` with the `count` hex digits at `from` appended, read as
 * one number, or -1 when one of them is not a hex digit or `value` is
 * already -1. It uses a lookup table because the parse was the largest part
 * of a claim in a profile of `node dist/bench/recent-ids.js`.
 */
function hexRun(id: string, from: number, count: number, value: number): number {
  if (value < 0) return -1
  for (let index = from; index < from + count; index++) {
    const code = id.charCodeAt(index)
    const digit = code < 128 ? (HEX_VALUES[code] as number) : -1
    if (digit < 0) return -1
    value = value * 16 + digit
  }
  return value
}

/** Returns the 32-bit hash of an id's words and tenant number. Its low bits are the entry's home slot. */
export function hashIdWords(a: number, b: number, c: number, d: number, tenant: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ b ^ (h >>> 13), 0xc2b2ae35)
  h = Math.imul(h ^ c ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ d ^ (h >>> 13), 0xc2b2ae35)
  h = Math.imul(h ^ tenant ^ (h >>> 16), 0x27d4eb2f)
  return (h ^ (h >>> 15)) >>> 0
}
