import { readFileSync } from 'node:fs'
import { hashApiKey } from '../../src/http/auth.js'
import { rebaseEventLines } from '../../src/cli/rebase-time.js'
import { formatRfc3339Micros, parseRfc3339 } from '../../src/schema/timestamp.js'

export const EVENTS_CORPUS = new URL('../../../test/fixtures/openssh-2k.events.ndjson', import.meta.url)

export const MICROS_PER_HOUR = 3_600_000_000

/** A corpus event after rebasing, as sent. */
export interface CorpusEvent {
  event_id: string
  timestamp: string
  action: string
  outcome: string
  severity: number
  raw: string
  source: { product: string; host?: string }
  actor?: { ip_address?: string; id?: string }
  metadata: Record<string, unknown>
}

/** API keys of the query tests: two tenants, and an admin of a third. */
export const KEYS = {
  alpha: 'alpha-key-0123456789',
  beta: 'beta-key-0123456789',
  admin: 'admin-key-0123456789',
} as const

export const AUTH_OVERRIDES = {
  auth: {
    api_keys: [
      { name: 'alpha', sha256: hashApiKey(KEYS.alpha), tenant: 'alpha', roles: ['ingest', 'search'] },
      { name: 'beta', sha256: hashApiKey(KEYS.beta), tenant: 'beta', roles: ['ingest', 'search'] },
      { name: 'ops', sha256: hashApiKey(KEYS.admin), tenant: 'ops', roles: ['admin'] },
    ],
  },
}

/**
 * Loads the corpus lines with times shifted so the newest event is one second
 * before the start of the current hour: every event then falls in a whole
 * hour before now, which the rollup tests rely on.
 */
export function loadCorpus(nowMicros = Date.now() * 1000): { lines: string[]; events: CorpusEvent[]; lastHour: number } {
  const lastHour = Math.floor(nowMicros / MICROS_PER_HOUR) * MICROS_PER_HOUR
  const original = readFileSync(EVENTS_CORPUS, 'utf8').split('\n').filter((line) => line !== '')
  const lines = rebaseEventLines(original, lastHour - 1_000_000)
  const events = lines.map((line) => JSON.parse(line) as CorpusEvent)
  return { lines, events, lastHour }
}

export interface Reply<T = Record<string, unknown>> {
  status: number
  body: T
  headers: Headers
}

/** A small JSON client for one API key. */
export class Api {
  readonly #url: string
  readonly #key: string | undefined

  constructor(url: string, key: string | undefined) {
    this.#url = url
    this.#key = key
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const headers: Record<string, string> = {}
    if (this.#key !== undefined) headers['x-api-key'] = this.#key
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(this.#url + path, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) })
    const text = await response.text()
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T, headers: response.headers }
  }

  post<T = Record<string, unknown>>(path: string, body: unknown): Promise<Reply<T>> {
    return this.request<T>('POST', path, body)
  }

  get<T = Record<string, unknown>>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path)
  }

  /** Sends NDJSON lines in requests of 500, acknowledged once stored. */
  async ingest(lines: string[]): Promise<void> {
    for (let start = 0; start < lines.length; start += 500) {
      const response = await fetch(`${this.#url}/v1/events?ack=committed`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...(this.#key === undefined ? {} : { 'x-api-key': this.#key }) },
        body: lines.slice(start, start + 500).join('\n'),
      })
      const text = await response.text()
      if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${text.slice(0, 500)}`)
    }
  }
}

export interface SearchPage {
  events: Array<Record<string, unknown> & { event_id: string; timestamp: string }>
  count: number
  has_more: boolean
  next_cursor: string | null
  error?: { code: string; message: string }
}

/** Follows next_cursor until the last page and returns every event in order. */
export async function searchAll(api: Api, body: Record<string, unknown>): Promise<{ events: SearchPage['events']; pages: number }> {
  const events: SearchPage['events'] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const reply: Reply<SearchPage> = await api.post<SearchPage>('/v1/search', cursor === null ? body : { ...body, cursor })
    if (reply.status !== 200) throw new Error(`search answered ${reply.status}: ${JSON.stringify(reply.body)}`)
    events.push(...reply.body.events)
    cursor = reply.body.next_cursor
    pages++
    if (pages > 1000) throw new Error('more than 1000 pages')
  } while (cursor !== null)
  return { events, pages }
}

/** Whole-word test as the free-text search defines it: the word is a token of the text. */
export function hasWord(text: string, word: string): boolean {
  return text.split(/[\u0000-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007f]+/).includes(word)
}

export function rfc3339(micros: number): string {
  return formatRfc3339Micros(micros)
}

export function micros(rfc: string): number {
  const value = parseRfc3339(rfc)
  if (value === undefined) throw new Error(`not RFC 3339: ${rfc}`)
  return value
}
