/**
 * Event ids accepted recently, so that a sender that retries a request after
 * a timeout does not get its events stored twice. Bounded by count and by
 * age; each entry costs roughly 100 bytes of heap (an estimate for a 36
 * character key in a Map), so 500,000 ids take about 50 MB.
 */
export class RecentIds {
  readonly #maxEntries: number
  readonly #maxAgeMs: number
  /** Insertion-ordered, so the oldest entry is always first. */
  readonly #seen = new Map<string, number>()

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
    this.#seen.delete(id)
    this.#seen.set(id, now)
    this.#evict(now)
  }

  delete(id: string): void {
    this.#seen.delete(id)
  }

  #evict(now: number): void {
    for (const [id, at] of this.#seen) {
      if (this.#seen.size <= this.#maxEntries && now - at <= this.#maxAgeMs) return
      this.#seen.delete(id)
    }
  }
}
