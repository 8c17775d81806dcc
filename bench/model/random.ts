/**
 * Seeded pseudo-random numbers (mulberry32: 32-bit state, period 2^32),
 * so that two runs with the same seed send the same distribution. Not for
 * anything that needs unpredictability.
 */
export class SeededRandom {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound)
  }

  pick<T>(values: readonly T[]): T {
    return values[this.below(values.length)] as T
  }

  /** Index into `cumulative` (ascending running totals ending at 1) chosen by weight. */
  weighted(cumulative: readonly number[]): number {
    const r = this.next()
    for (let i = 0; i < cumulative.length; i++) {
      if (r < (cumulative[i] as number)) return i
    }
    return cumulative.length - 1
  }

  /** Hex digits, `length` of them. */
  hex(length: number): string {
    let text = ''
    while (text.length < length) text += this.below(0x10000).toString(16).padStart(4, '0')
    return text.slice(0, length)
  }
}

/** Running totals of `weights`, scaled so that the last is 1. */
export function cumulativeWeights(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0)
  let running = 0
  return weights.map((weight) => {
    running += weight
    return running / total
  })
}
