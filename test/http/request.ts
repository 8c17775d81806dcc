import assert from 'node:assert/strict'
import type { SiemApp } from '../../src/app.js'

export interface JsonResponse {
  status: number
  headers: Headers
  /** The parsed body; the request fails the test when the body is not JSON. */
  body: Record<string, unknown>
  text: string
}

/** Sends a request and parses the JSON response, failing the test on a non-JSON body. */
export async function request(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  const response = await fetch(url, init)
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    assert.fail(`${init.method ?? 'GET'} ${url} returned ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`)
  }
  assert.equal(typeof body, 'object', `response of ${url} is a JSON object`)
  return { status: response.status, headers: response.headers, body: body as Record<string, unknown>, text }
}

/** POSTs `body` to /v1/events; a string or Buffer is sent as is, anything else as JSON. */
export function postEvents(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  return request(`${baseUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
  })
}

/** Returns the error code of an error response, such as SIEM_ERR_AUTH_MISSING_KEY. */
export function errorCode(response: JsonResponse): unknown {
  return (response.body['error'] as { code?: unknown } | undefined)?.code
}

/** Reads one sample value of a Prometheus metric from /metrics, summed over series matching `labels`. */
export async function metricValue(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))
    if (matches) total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

/** Reads the embedded engine's current value of a session setting, such as `readonly`. */
export async function sessionSetting(app: SiemApp, name: string): Promise<string | undefined> {
  const result = await app.storage.client.query({
    query: 'SELECT value FROM system.settings WHERE name = {name:String}',
    query_params: { name },
    format: 'JSONEachRow',
  })
  const rows = await result.json<{ value: string }>()
  return rows[0]?.value
}
