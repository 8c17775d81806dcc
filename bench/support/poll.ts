import type { RunningServer } from '../context.js'
import { runSql } from './http.js'

export interface CountSample {
  /** Epoch milliseconds when the query was sent. */
  atMs: number
  count: number
}

/**
 * Counts rows with one SQL query at a fixed interval until stopped, keeping
 * each reading. The count is sampled when the query is sent, so a reading
 * can lag the truth by up to one interval plus the query time.
 */
export class CountPoller {
  readonly samples: CountSample[] = []
  readonly #server: RunningServer
  readonly #adminKey: string
  readonly #query: string
  readonly #intervalMs: number
  #stopped = false
  /** Failed readings; the poller keeps going, since the server may be busy. */
  errors = 0
  lastError: string | undefined
  #loop: Promise<void> | undefined

  constructor(server: RunningServer, adminKey: string, query: string, intervalMs: number) {
    this.#server = server
    this.#adminKey = adminKey
    this.#query = query
    this.#intervalMs = intervalMs
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  get latest(): CountSample | undefined {
    return this.samples[this.samples.length - 1]
  }

  /**
   * Waits until a reading reaches `target`, and resolves with the first
   * one that did. Resolves with undefined when the count has not grown for
   * `quietMs` (the rest is late or lost) or after `capMs` in all.
   */
  async waitFor(target: number, quietMs: number, capMs: number): Promise<CountSample | undefined> {
    const deadline = Date.now() + capMs
    for (;;) {
      const reached = this.samples.find((sample) => sample.count >= target)
      if (reached !== undefined) return reached
      const latest = this.latest
      const sinceGrowth = latest === undefined ? undefined : this.samples.find((sample) => sample.count === latest.count)
      if (sinceGrowth !== undefined && Date.now() - sinceGrowth.atMs >= quietMs) return undefined
      if (Date.now() > deadline) return undefined
      await new Promise((resolve) => setTimeout(resolve, this.#intervalMs / 2))
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#loop
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const atMs = Date.now()
      try {
        const result = await runSql<{ n: string }>(this.#server.http, this.#query, this.#adminKey)
        this.samples.push({ atMs, count: Number(result.rows[0]?.n ?? 0) })
      } catch (err) {
        this.errors++
        this.lastError = err instanceof Error ? err.message : String(err)
      }
      const wait = atMs + this.#intervalMs - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
