import { hashIdWords, parseUuidWords } from '../../src/ingest/recent-ids.js'

/**
 * The re-send window as it was before its table slots kept each entry's
 * hash: a probe read the words of every entry it passed, and moving
 * entries after a removal hashed their words again. `bench/recent-ids.ts`
 * times it against `RecentIds`. Only the hash table differs.
 */
export class RecentIdsProbingWords {
  readonly #capacity: number
  readonly #maxAgeMs: number
  /** Ring of entries, oldest at `#head`: id words, tenant number and time added. A removed entry has the time NaN. */
  readonly #words: Uint32Array
  readonly #tenants: Uint32Array
  readonly #times: Float64Array
  #head = 0
  #used = 0
  #live = 0
  /** Hash table with linear probing. Each slot contains a ring position plus one, or 0 when empty. */
  readonly #table: Uint32Array
  readonly #mask: number
  readonly #tenantNumbers = new Map<string, number>()
  /** Scratch words of the id being added or looked up, and of an entry being evicted. */
  readonly #key = new Uint32Array(4)
  readonly #evicted = new Uint32Array(4)

  constructor(maxEntries: number, maxAgeMs: number) {
    this.#capacity = Math.max(0, Math.floor(maxEntries))
    this.#maxAgeMs = maxAgeMs
    this.#words = new Uint32Array(this.#capacity * 4)
    this.#tenants = new Uint32Array(this.#capacity)
    this.#times = new Float64Array(this.#capacity)
    // At most half full, so that probe runs stay short.
    let size = 1
    while (size < this.#capacity * 2) size *= 2
    this.#table = new Uint32Array(this.#capacity === 0 ? 0 : size)
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
    const position = (this.#table[slot] as number) - 1
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
    const existing = this.#lookup(this.#key, tenantNumber)
    if (existing >= 0) {
      const position = (this.#table[existing] as number) - 1
      if (now - (this.#times[position] as number) <= this.#maxAgeMs) return false
      this.#removeAt(existing)
    }
    this.#append(tenantNumber, now)
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
    const existing = this.#lookup(this.#key, tenantNumber)
    if (existing >= 0) this.#removeAt(existing)
    this.#append(tenantNumber, now)
  }

  /** Appends the id in `#key` to the ring and the table, after making room. */
  #append(tenantNumber: number, now: number): void {
    this.#evict(now)
    const position = (this.#head + this.#used) % this.#capacity
    this.#words.set(this.#key, position * 4)
    this.#tenants[position] = tenantNumber
    this.#times[position] = now
    this.#used++
    this.#live++
    let slot = this.#hash(this.#key, tenantNumber)
    while (this.#table[slot] !== 0) slot = (slot + 1) & this.#mask
    this.#table[slot] = position + 1
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
        this.#evicted.set(this.#words.subarray(head * 4, head * 4 + 4))
        const slot = this.#lookup(this.#evicted, this.#tenants[head] as number)
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
    return tenantNumber === undefined ? -1 : this.#lookup(this.#key, tenantNumber)
  }

  /** Returns the table slot that contains the id `key` for `tenantNumber`, or -1. */
  #lookup(key: Uint32Array, tenantNumber: number): number {
    const words = this.#words
    for (let slot = this.#hash(key, tenantNumber); ; slot = (slot + 1) & this.#mask) {
      const entry = this.#table[slot] as number
      if (entry === 0) return -1
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
    const position = (this.#table[slot] as number) - 1
    this.#times[position] = Number.NaN
    this.#live--
    let hole = slot
    for (let next = (slot + 1) & this.#mask; this.#table[next] !== 0; next = (next + 1) & this.#mask) {
      const entry = this.#table[next] as number
      const home = this.#homeOf(entry - 1)
      // The entry may fill the hole only if its home is not between the hole and itself.
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next
      if (!between) {
        this.#table[hole] = entry
        hole = next
      }
    }
    this.#table[hole] = 0
  }

  #homeOf(position: number): number {
    const base = position * 4
    return this.#mix(
      this.#words[base] as number,
      this.#words[base + 1] as number,
      this.#words[base + 2] as number,
      this.#words[base + 3] as number,
      this.#tenants[position] as number,
    )
  }

  #hash(key: Uint32Array, tenantNumber: number): number {
    return this.#mix(key[0] as number, key[1] as number, key[2] as number, key[3] as number, tenantNumber)
  }

  /** Returns the entry's home slot: the shared hash masked to the table. */
  #mix(a: number, b: number, c: number, d: number, tenant: number): number {
    return hashIdWords(a, b, c, d, tenant) & this.#mask
  }

  #tenantNumber(tenant: string): number {
    let value = this.#tenantNumbers.get(tenant)
    if (value === undefined) {
      value = this.#tenantNumbers.size
      this.#tenantNumbers.set(tenant, value)
    }
    return value
  }

  #parse(id: string): boolean {
    return parseUuidWords(id, this.#key)
  }
}
