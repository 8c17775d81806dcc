import type { SiemError } from '../../errors.js'

interface CommitWaiter {
  firstSeq: number
  lastSeq: number
  remaining: number
  resolve(): void
  reject(error: SiemError): void
}

/**
 * Enqueues acknowledged in `committed` mode, waiting for every one of their
 * events to be in a committed batch. An enqueue's events have consecutive
 * sequence numbers, so each waiter is a range.
 */
export class CommitWaiters {
  private waiters: CommitWaiter[] = []

  get size(): number {
    return this.waiters.length
  }

  /** Returns a promise that resolves once events `firstSeq..lastSeq` are all committed. */
  add(firstSeq: number, lastSeq: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ firstSeq, lastSeq, remaining: lastSeq - firstSeq + 1, resolve, reject })
    })
  }

  /** Counts a committed batch of events `firstSeq..lastSeq` against the waiters it overlaps. */
  committed(firstSeq: number, lastSeq: number): void {
    if (this.waiters.length === 0) return
    let done = false
    for (const waiter of this.waiters) {
      const overlap = Math.min(waiter.lastSeq, lastSeq) - Math.max(waiter.firstSeq, firstSeq) + 1
      if (overlap <= 0) continue
      waiter.remaining -= overlap
      if (waiter.remaining <= 0) {
        waiter.resolve()
        done = true
      }
    }
    if (done) this.waiters = this.waiters.filter((waiter) => waiter.remaining > 0)
  }

  /** Rejects the waiter of the enqueue whose first event is `firstSeq`. */
  rejectOne(firstSeq: number, error: SiemError): void {
    const index = this.waiters.findIndex((waiter) => waiter.firstSeq === firstSeq)
    if (index < 0) return
    const [waiter] = this.waiters.splice(index, 1)
    waiter!.reject(error)
  }

  rejectAll(error: SiemError): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error)
  }
}
