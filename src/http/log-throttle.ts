import type { FastifyBaseLogger } from 'fastify'

/**
 * Writes at most one line a key per interval and counts the rest, for errors
 * that repeat by the thousand while they last, such as 503 answers while the
 * spool is full. The next line carries how many were left out.
 */
export class LogThrottle {
  readonly #intervalMs: number
  readonly #last = new Map<string, { at: number; suppressed: number }>()

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs
  }

  warn(logger: FastifyBaseLogger, key: string, fields: Record<string, unknown>, message: string, now: number = Date.now()): void {
    const entry = this.#last.get(key)
    if (entry !== undefined && now - entry.at < this.#intervalMs) {
      entry.suppressed++
      return
    }
    logger.warn({ ...fields, suppressed_since_last: entry?.suppressed ?? 0 }, message)
    this.#last.set(key, { at: now, suppressed: 0 })
  }
}
