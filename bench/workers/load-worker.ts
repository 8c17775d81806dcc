import { HttpTarget } from '../support/http.js'
import type { LoadJob, LoadReport, LoadWorkerMessage, ParentMessage } from './protocol.js'
import { RequestPool } from './request-pool.js'

/**
 * HTTP load generator, run by the benchmark with child_process.fork so
 * that it does not share an event loop with the server or the poller. It
 * posts batches from a RequestPool to POST /v1/events, either keeping a
 * fixed number of requests in flight or on a fixed schedule, and reports
 * acknowledgement latencies and counts.
 */

/** A 429 or 503 is sent again after its Retry-After, capped so that a maximum-rate run keeps the queue fed. */
const MAX_RETRY_WAIT_MS = 1000
/** A rate-mode send that starts later than this after its slot counts as late. */
const LATE_SEND_MS = 10

function post(message: LoadWorkerMessage): void {
  process.send?.(message)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function wallNow(): number {
  return performance.timeOrigin + performance.now()
}

class LoadRun {
  readonly #job: LoadJob
  readonly #pool: RequestPool
  readonly #target: HttpTarget
  readonly #keys: Map<string, string>
  readonly #report: LoadReport
  #seen = 0
  #endAt = 0

  constructor(job: LoadJob) {
    this.#job = job
    this.#pool = new RequestPool(job.seed, job.poolBatches, job.batchSize, Date.now(), job.tagPrefix)
    this.#target = new HttpTarget(job.url, job.concurrency)
    this.#keys = new Map(job.keys.map((entry) => [entry.tenant, entry.key]))
    this.#report = {
      acceptedRequests: 0,
      acceptedEvents: 0,
      refusedAnswers: 0,
      failedRequests: 0,
      failureSamples: [],
      acceptedBodyBytes: 0,
      ackLatenciesMs: [],
      startedAtMs: 0,
      finishedAtMs: 0,
      acks: [],
      sampleIds: [],
      lateSends: 0,
      cpuSeconds: 0,
    }
  }

  async run(): Promise<LoadReport> {
    const cpuBefore = process.cpuUsage()
    this.#report.startedAtMs = wallNow()
    this.#endAt = performance.now() + this.#job.durationMs
    if (this.#job.mode === 'max') await this.#runMax()
    else await this.#runRate()
    this.#target.close()
    const cpu = process.cpuUsage(cpuBefore)
    this.#report.cpuSeconds = (cpu.user + cpu.system) / 1e6
    return this.#report
  }

  async #runMax(): Promise<void> {
    let sequence = 0
    const loop = async (): Promise<void> => {
      while (performance.now() < this.#endAt) {
        await this.#send(sequence++, performance.now())
      }
    }
    await Promise.all(Array.from({ length: this.#job.concurrency }, loop))
  }

  async #runRate(): Promise<void> {
    const intervalMs = (1000 * this.#job.batchSize) / this.#job.eventsPerSecond
    const startedAt = performance.now()
    const inFlight = new Set<Promise<void>>()
    for (let sequence = 0; ; sequence++) {
      const slot = startedAt + sequence * intervalMs
      if (slot >= this.#endAt) break
      const wait = slot - performance.now()
      if (wait > 0) await sleep(wait)
      while (inFlight.size >= this.#job.concurrency) await Promise.race(inFlight)
      if (performance.now() - slot > LATE_SEND_MS) this.#report.lateSends++
      const sending = this.#send(sequence, slot).finally(() => inFlight.delete(sending))
      inFlight.add(sending)
    }
    await Promise.all(inFlight)
  }

  /** Sends one request until it is accepted, fails, or the run is over; `intendedAt` is performance.now() of its slot. */
  async #send(sequence: number, intendedAt: number): Promise<void> {
    const tenant = this.#pool.nextTenant()
    const { body, eventIds } = this.#pool.build(sequence)
    const headers = { 'content-type': 'application/json', 'x-api-key': this.#keys.get(tenant) as string }
    for (;;) {
      let status: number
      let responseBody: string
      let retryAfter: string | string[] | undefined
      try {
        const response = await this.#target.send({ method: 'POST', path: '/v1/events', headers, body, timeoutMs: 120_000 })
        status = response.status
        responseBody = response.body
        retryAfter = response.headers['retry-after']
      } catch (err) {
        this.#fail(`request ${sequence}: ${err instanceof Error ? err.message : String(err)}`)
        return
      }
      if (status === 200) {
        this.#accept(sequence, intendedAt, body, eventIds, responseBody)
        return
      }
      if (status === 429 || status === 503) {
        this.#report.refusedAnswers++
        if (performance.now() >= this.#endAt) return
        const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter)
        await sleep(Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_WAIT_MS) : 100)
        continue
      }
      this.#fail(`request ${sequence}: HTTP ${status} ${responseBody.slice(0, 300)}`)
      return
    }
  }

  #accept(sequence: number, intendedAt: number, body: Buffer, eventIds: string[], responseBody: string): void {
    const report = this.#report
    const now = performance.now()
    const answer = JSON.parse(responseBody) as { accepted?: number }
    const accepted = answer.accepted ?? 0
    if (accepted !== eventIds.length) {
      this.#fail(`request ${sequence}: ${accepted} of ${eventIds.length} events accepted: ${responseBody.slice(0, 300)}`)
    }
    report.acceptedRequests++
    report.acceptedEvents += accepted
    report.acceptedBodyBytes += body.length
    report.ackLatenciesMs.push(now - intendedAt)
    report.finishedAtMs = wallNow()
    if (this.#job.recordAcks) report.acks.push([sequence, report.finishedAtMs])
    this.#sample(eventIds)
  }

  /** Reservoir sampling over every accepted id, so the sample is uniform over the whole run. */
  #sample(eventIds: readonly string[]): void {
    const sample = this.#report.sampleIds
    const size = this.#job.sampleSize
    if (size === 0) return
    for (const id of eventIds) {
      this.#seen++
      if (sample.length < size) sample.push(id)
      else {
        const slot = Math.floor(Math.random() * this.#seen)
        if (slot < size) sample[slot] = id
      }
    }
  }

  #fail(message: string): void {
    this.#report.failedRequests++
    if (this.#report.failureSamples.length < 5) this.#report.failureSamples.push(message)
  }
}

let run: LoadRun | undefined

process.on('message', (message: ParentMessage) => {
  if (message.type === 'job') {
    try {
      run = new LoadRun(message.job)
      post({ type: 'ready' })
    } catch (err) {
      post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    }
    return
  }
  if (message.type === 'go' && run !== undefined) {
    run.run().then(
      (report) => {
        post({ type: 'done', report })
        process.disconnect()
      },
      (err: unknown) => {
        post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) })
        process.disconnect()
      },
    )
  }
})
