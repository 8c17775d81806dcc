import type { AckMode } from '../../../src/queue/types.js'
import { makeEvents, type InputEvent } from './events.js'

export interface LoadGeneratorOptions {
  /** Requests in flight at once. */
  concurrency: number
  eventsPerRequest: number
  /** Sent as `?ack=`. @default 'durable' */
  ack?: AckMode
  /** Wait after each request that got a response, in milliseconds, to limit the rate. @default 0 */
  pauseMs?: number
  /** Wait after a failed request or a 429/503, in milliseconds. @default 25 */
  errorPauseMs?: number
  /** Time limit of one request, in milliseconds. @default 15000 */
  requestTimeoutMs?: number
  /** `source.product` of the generated events. @default 'resilience' */
  product?: string
  /**
   * Sends a request that failed in transit again, with the same events, as
   * a sender that retries does. Off by default, so that an id stored twice
   * is the server's doing. @default false
   */
  resendFailed?: boolean
}

/** Count of one kind of response, and when first and last (ms since epoch). */
export interface OutcomeCount {
  count: number
  first: number
  last: number
}

/** A 429 or 503 response, which rejected the request's events. */
export interface Rejection {
  at: number
  status: number
  code: string
  /** The Retry-After header, or undefined when it was missing. */
  retryAfter: string | undefined
}

interface EventsResponseBody {
  accepted?: number
  duplicates?: number
  event_ids?: unknown
  error?: { code?: string }
}

/**
 * Posts generated events to /v1/events from `concurrency` loops until
 * stopped and records each event id by what became of it:
 *
 * - `sent`: every id put in a request, whatever the outcome;
 * - `acknowledged`: ids of requests with a 200 response that accepted every event;
 * - `rejected`: ids of requests with a 429 or 503 response (the server kept none of them).
 *
 * A request that failed in transit (connection refused or reset, time-out)
 * leaves its ids only in `sent`: the server may or may not have kept them.
 * Unless `resendFailed` is set, failed requests are never sent again, so an
 * id stored twice is the server's doing. With it, the loop sends the same
 * events again until a response comes, and the server must skip those it
 * kept the first time. The target can change (after a restart) or be unset
 * (while the server is down), in which case the loops wait.
 */
export class LoadGenerator {
  readonly sent = new Set<string>()
  readonly acknowledged = new Set<string>()
  readonly rejected = new Set<string>()
  readonly rejections: Rejection[] = []
  /** Responses by kind: the HTTP status, with the error code for errors, or the network error code. */
  readonly outcomes = new Map<string, OutcomeCount>()
  /** Responses that broke the API contract, such as a 200 without every id; each is a test failure. */
  readonly anomalies: string[] = []
  /** Events of requests sent again after failing in transit, and how many of them the server skipped as re-sent. */
  resentEvents = 0
  resentDuplicates = 0

  readonly #options: Required<LoadGeneratorOptions>
  #target: string | undefined
  #targetWaiters: Array<() => void> = []
  #loops: Promise<void>[] = []
  #stopping = false
  #requests = 0

  constructor(options: LoadGeneratorOptions) {
    this.#options = {
      ack: 'durable',
      pauseMs: 0,
      errorPauseMs: 25,
      requestTimeoutMs: 15_000,
      product: 'resilience',
      resendFailed: false,
      ...options,
    }
  }

  /** Requests completed or failed so far. */
  get requests(): number {
    return this.#requests
  }

  /** Sets the base URL (such as http://127.0.0.1:41234), or undefined to hold the loops. */
  setTarget(url: string | undefined): void {
    this.#target = url
    if (url === undefined) return
    const waiters = this.#targetWaiters
    this.#targetWaiters = []
    for (const wake of waiters) wake()
  }

  start(): void {
    if (this.#loops.length > 0 || this.#stopping) return
    for (let loop = 0; loop < this.#options.concurrency; loop++) this.#loops.push(this.#run())
  }

  /** Stops the loops and waits for the requests in flight to finish. */
  async stop(): Promise<void> {
    this.#stopping = true
    this.setTarget(this.#target ?? 'http://127.0.0.1:1')
    await Promise.all(this.#loops)
  }

  /** Resolves once `events` more events have been acknowledged. */
  async waitForAcknowledged(events: number, timeoutMs = 30_000): Promise<void> {
    const goal = this.acknowledged.size + events
    const deadline = Date.now() + timeoutMs
    while (this.acknowledged.size < goal) {
      if (Date.now() > deadline) throw new Error(`fewer than ${events} events acknowledged within ${timeoutMs} ms; ${this.summary()}`)
      await pause(20)
    }
  }

  /** One line of figures for logs and failure messages. */
  summary(): string {
    const kinds = [...this.outcomes.entries()].map(([kind, outcome]) => `${kind}=${outcome.count}`).join(' ')
    return `requests=${this.#requests} sent=${this.sent.size} acknowledged=${this.acknowledged.size} rejected=${this.rejected.size} responses: ${kinds}`
  }

  async #run(): Promise<void> {
    let unanswered: InputEvent[] | undefined
    while (!this.#stopping) {
      const target = await this.#awaitTarget()
      if (this.#stopping) return
      const events = unanswered ?? makeEvents(this.#options.eventsPerRequest, this.#options.product)
      const resend = unanswered !== undefined
      const { ok, answered } = await this.#postOnce(target, events, resend)
      unanswered = !answered && this.#options.resendFailed ? events : undefined
      const wait = ok ? this.#options.pauseMs : this.#options.errorPauseMs
      if (wait > 0) await pause(wait)
    }
  }

  async #awaitTarget(): Promise<string> {
    while (this.#target === undefined) {
      await new Promise<void>((resolve) => this.#targetWaiters.push(resolve))
    }
    return this.#target
  }

  /** Sends one request; `ok` is a 200 response, and `answered` any response. */
  async #postOnce(target: string, events: InputEvent[], resend: boolean): Promise<{ ok: boolean; answered: boolean }> {
    const ids = events.map((event) => event.event_id)
    for (const id of ids) this.sent.add(id)
    let response: Response
    let body: EventsResponseBody
    try {
      response = await fetch(`${target}/v1/events?ack=${this.#options.ack}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs),
      })
      body = (await response.json()) as EventsResponseBody
    } catch (err) {
      this.#count(networkErrorCode(err))
      return { ok: false, answered: false }
    } finally {
      this.#requests++
    }
    if (response.status === 200) {
      this.#count('200')
      this.#checkAccepted(body, ids, resend)
      for (const id of ids) this.acknowledged.add(id)
      return { ok: true, answered: true }
    }
    const code = body.error?.code ?? 'no_error_code'
    this.#count(`${response.status} ${code}`)
    if (response.status === 429 || response.status === 503) {
      for (const id of ids) this.rejected.add(id)
      this.rejections.push({ at: Date.now(), status: response.status, code, retryAfter: response.headers.get('retry-after') ?? undefined })
    } else {
      this.anomalies.push(`unexpected response ${response.status} ${JSON.stringify(body).slice(0, 300)}`)
    }
    return { ok: false, answered: true }
  }

  /** Checks that a 200 took every event: all accepted, or for a re-send, each either accepted or skipped. */
  #checkAccepted(body: EventsResponseBody, ids: string[], resend: boolean): void {
    const returned = Array.isArray(body.event_ids) ? body.event_ids : []
    const same = returned.length === ids.length && returned.every((id, index) => id === ids[index])
    const duplicates = body.duplicates ?? 0
    if (resend) {
      this.resentEvents += ids.length
      this.resentDuplicates += duplicates
    }
    const tookEvery = resend ? (body.accepted ?? 0) + duplicates === ids.length : body.accepted === ids.length && duplicates === 0
    if (!tookEvery || !same) {
      this.anomalies.push(`200 response does not accept every event: ${JSON.stringify(body).slice(0, 300)}`)
    }
  }

  #count(kind: string): void {
    const now = Date.now()
    const outcome = this.outcomes.get(kind)
    if (outcome === undefined) this.outcomes.set(kind, { count: 1, first: now, last: now })
    else {
      outcome.count++
      outcome.last = now
    }
  }
}

/** The code of a failed fetch, such as ECONNREFUSED, from the error or its cause. */
function networkErrorCode(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timeout'
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause
  if (typeof cause?.code === 'string') return cause.code
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code === 'string') return code
  return err instanceof Error ? err.name : 'unknown_error'
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
