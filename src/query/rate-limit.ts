import { SiemError } from '../errors.js'

interface Bucket {
  tokens: number
  updatedAt: number
}

/**
 * A token bucket per API key: `perMinute` requests a minute on average, with
 * bursts of up to `perMinute`. 0 turns the limit off. The clock is passed
 * in, so tests can move it.
 */
export class KeyRateLimiter {
  readonly #perMinute: number
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()

  constructor(perMinute: number, now: () => number = Date.now) {
    this.#perMinute = perMinute
    this.#now = now
  }

  /** Takes one request from the key's bucket, or throws SIEM_ERR_QUERY_RATE_LIMITED with Retry-After. */
  take(key: string): void {
    if (this.#perMinute <= 0) return
    const now = this.#now()
    const refillPerMs = this.#perMinute / 60_000
    const bucket = this.#buckets.get(key) ?? { tokens: this.#perMinute, updatedAt: now }
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + (now - bucket.updatedAt) * refillPerMs)
    bucket.updatedAt = now
    this.#buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return
    }
    const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000))
    throw new SiemError(
      'SIEM_ERR_QUERY_RATE_LIMITED',
      `API key ${key} sent more than ${this.#perMinute} queries a minute (query.rate_limit_per_minute); retry in ${waitSeconds} s`,
      { value: this.#perMinute, retryAfterSeconds: waitSeconds },
    )
  }
}
