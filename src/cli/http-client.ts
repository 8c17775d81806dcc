import { SiemError } from '../errors.js'

export interface HttpFailure {
  status: number
  body: unknown
}

/** POSTs JSON and returns the parsed answer; a non-2xx answer throws with the server's message. */
export async function postJson(url: string, body: unknown, apiKey: string | undefined): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (apiKey !== undefined) headers['x-api-key'] = apiKey
  let response: Response
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
  } catch (err) {
    throw new SiemError('SIEM_ERR_STORAGE_UNAVAILABLE', `cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}`, {
      value: url,
      cause: err,
    })
  }
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not JSON: shown as text below.
  }
  if (!response.ok) {
    const error = (parsed as { error?: { message?: string; code?: string } }).error
    const message = error?.message ?? text.slice(0, 500)
    throw new SiemError('SIEM_ERR_HTTP_BAD_REQUEST', `${url} responded ${response.status}: ${message}${error?.code ? ` [${error.code}]` : ''}`, {
      value: response.status,
    })
  }
  return parsed
}
