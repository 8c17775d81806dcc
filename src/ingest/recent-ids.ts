/**
 * Event ids accepted recently, so that a sender that retries a request after
 * a timeout does not get its events stored twice. Bounded by count and by
 * age; each entry costs roughly 100 bytes of heap (an estimate for a 36
 * character key in a Map plus its place in the eviction ring), so 500,000
 * ids take about 50 MB.
 */
export class RecentIds {
  readonly #maxEntries: number
  readonly #maxAgeMs: number
  /** Time each id was last added, in epoch milliseconds. */
  readonly #seen = new Map<string, number>()
  /**
   * Ids in the order they were added, with their times, oldest at `#head`.
   * An id added again has an older entry here too, which eviction skips
   * because its time no longer matches the map.
   */
  #ringIds: string[] = []
  #ringTimes: number[] = []
  #head = 0

  constructor(maxEntries: number, maxAgeMs: number) {
    this.#maxEntries = maxEntries
    this.#maxAgeMs = maxAgeMs
  }

  get enabled(): boolean {
    return this.#maxEntries > 0
  }

  get size(): number {
    return this.#seen.size
  }

  has(id: string, now: number = Date.now()): boolean {
    const at = this.#seen.get(id)
    return at !== undefined && now - at <= this.#maxAgeMs
  }

  add(id: string, now: number = Date.now()): void {
    if (!this.enabled) return
    this.#seen.set(id, now)
    this.#ringIds.push(id)
    this.#ringTimes.push(now)
    this.#evict(now)
  }

  delete(id: string): void {
    this.#seen.delete(id)
  }

  /** Drops the oldest entries while there are too many or the oldest is too old. */
  #evict(now: number): void {
    while (this.#head < this.#ringIds.length) {
      const at = this.#ringTimes[this.#head] as number
      const tooMany = this.#ringIds.length - this.#head > this.#maxEntries
      if (!tooMany && now - at <= this.#maxAgeMs) break
      const id = this.#ringIds[this.#head] as string
      if (this.#seen.get(id) === at) this.#seen.delete(id)
      this.#head++
    }
    // Cut the consumed front off now and then, so the arrays stay about maxEntries long.
    if (this.#head > 65_536 && this.#head * 2 > this.#ringIds.length) {
      this.#ringIds = this.#ringIds.slice(this.#head)
      this.#ringTimes = this.#ringTimes.slice(this.#head)
      this.#head = 0
    }
  }
}
