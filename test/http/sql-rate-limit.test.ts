import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startTestApp, type TestApp } from '../support/app.js'

let app: TestApp

before(async () => {
  app = await startTestApp({ query: { rate_limit_per_minute: 3 } })
})

after(async () => {
  await app.close()
})

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

test('sql and search share one rate limit', async () => {
  assert.equal((await post('/v1/sql', { query: 'SELECT 1' })).status, 200)
  assert.equal((await post('/v1/search', {})).status, 200)
  assert.equal((await post('/v1/sql', { query: 'SELECT 1' })).status, 200)

  const limited = await post('/v1/sql', { query: 'SELECT 1' })
  assert.equal(limited.status, 429)
  assert.ok(Number(limited.headers.get('retry-after')) >= 1)
  const body = (await limited.json()) as { error: { code: string } }
  assert.equal(body.error.code, 'SIEM_ERR_QUERY_RATE_LIMITED')
})
