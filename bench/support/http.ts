import { Agent, request } from 'node:http'

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface HttpRequest {
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** Gives up after this many milliseconds; 0 waits forever. */
  timeoutMs?: number
}

/** Keep-alive HTTP/1.1 to one server; a small wrapper so that load and polling pay no per-request setup. */
export class HttpTarget {
  readonly host: string
  readonly port: number
  readonly #agent: Agent

  constructor(baseUrl: string, maxSockets = 16) {
    const url = new URL(baseUrl)
    this.host = url.hostname
    this.port = Number(url.port)
    this.#agent = new Agent({ keepAlive: true, maxSockets })
  }

  send(options: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...options.headers }
      if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body)
      const outgoing = request(
        { host: this.host, port: this.port, method: options.method, path: options.path, headers, agent: this.#agent },
        (incoming) => {
          const chunks: Buffer[] = []
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
          incoming.on('end', () => {
            resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') })
          })
          incoming.on('error', reject)
        },
      )
      outgoing.on('error', reject)
      if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
        outgoing.setTimeout(options.timeoutMs, () => outgoing.destroy(new Error(`${options.method} ${options.path} timed out after ${options.timeoutMs} ms`)))
      }
      outgoing.end(options.body)
    })
  }

  close(): void {
    this.#agent.destroy()
  }
}

/** Error of a request the server answered with an unexpected status. */
export class HttpStatusError extends Error {
  readonly status: number

  constructor(what: string, response: HttpResponse) {
    super(`${what} failed with HTTP ${response.status}: ${response.body.slice(0, 500)}`)
    this.status = response.status
  }
}

export interface SqlResult<T> {
  rows: T[]
  /** Time the server reports for the query. */
  elapsedMs: number
  /** Round trip seen by the client. */
  roundTripMs: number
}

/** Runs read-only SQL through the server's POST /v1/sql. */
export async function runSql<T = Record<string, unknown>>(target: HttpTarget, query: string, apiKey?: string): Promise<SqlResult<T>> {
  const started = performance.now()
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (apiKey !== undefined) headers['x-api-key'] = apiKey
  const response = await target.send({ method: 'POST', path: '/v1/sql', headers, body: JSON.stringify({ query }), timeoutMs: 120_000 })
  const roundTripMs = performance.now() - started
  if (response.status !== 200) throw new HttpStatusError(`SQL ${JSON.stringify(query.slice(0, 120))}`, response)
  const parsed = JSON.parse(response.body) as { rows: T[]; elapsed_ms: number }
  return { rows: parsed.rows, elapsedMs: parsed.elapsed_ms, roundTripMs }
}
