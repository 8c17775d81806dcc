import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { hashApiKey } from '../../src/http/auth.js'
import { countRows, startTestApp, waitFor, type TestApp } from '../support/app.js'

let app: TestApp

before(async () => {
  app = await startTestApp({
    auth: {
      api_keys: [
        { name: 'ingest-a', sha256: hashApiKey('key-a'), tenant: 'tenant_a', roles: ['ingest'] },
        { name: 'ingest-b', sha256: hashApiKey('key-b'), tenant: 'tenant_b', roles: ['ingest'] },
      ],
    },
  })
})

after(async () => {
  await app.close()
})

async function post(key: string, eventId: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${app.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({
      events: [{ event_id: eventId, timestamp: new Date().toISOString(), source: { product: 'sshd' }, action: 'auth.login' }],
    }),
  })
  assert.equal(response.status, 200)
  return (await response.json()) as Record<string, unknown>
}

test('same event id in two tenants is stored twice', async () => {
  const id = randomUUID()
  assert.equal((await post('key-a', id))['accepted'], 1)
  const second = await post('key-b', id)
  assert.equal(second['accepted'], 1)
  assert.equal(second['duplicates'], 0)
  await waitFor(() => countRows(app.app, 'events', `event_id = '${id}'`), (count) => count === 2)
  assert.equal(await countRows(app.app, 'events', `event_id = '${id}' AND tenant_id = 'tenant_b'`), 1)
})

test('re-send within one tenant is skipped', async () => {
  const id = randomUUID()
  await post('key-a', id)
  const again = await post('key-a', id)
  assert.equal(again['accepted'], 0)
  assert.equal(again['duplicates'], 1)
})
