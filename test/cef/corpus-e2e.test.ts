import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { sendCefFile } from '../../src/ingest/cef/sender.js'
import { countRows, queryRows, startTestApp, waitFor, type TestApp } from '../support/app.js'
import { CORPUS_ACTION_COUNTS, CORPUS_CRITICAL_COUNT, CORPUS_PATH } from './corpus-fixture.js'

let testApp: TestApp

before(async () => {
  testApp = await startTestApp({
    cef: {
      tcp: { enabled: true, port: 0, tenant: 'cef-tcp' },
      udp: { enabled: true, port: 0, tenant: 'cef-udp' },
    },
  })
})

after(async () => {
  await testApp.close()
})

async function actionCounts(tenant: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ action: string; c: string }>(
    testApp.app,
    'SELECT action, count() AS c FROM events WHERE tenant_id = {tenant:String} GROUP BY action',
    { tenant },
  )
  return Object.fromEntries(rows.map((row) => [row.action, Number(row.c)]))
}

async function assertStored(tenant: string): Promise<void> {
  const where = `tenant_id = '${tenant}'`
  await waitFor(() => countRows(testApp.app, 'events', where), (count) => count >= 2000)
  assert.equal(await countRows(testApp.app, 'events', where), 2000)
  assert.deepEqual(await actionCounts(tenant), CORPUS_ACTION_COUNTS)
  assert.equal(await countRows(testApp.app, 'events_critical', where), CORPUS_CRITICAL_COUNT)
  assert.equal(await countRows(testApp.app, 'events_quarantine', where), 0)
  const [sample] = await queryRows<{ source_host: string; source_product: string; raw: string }>(
    testApp.app,
    `SELECT source_host, source_product, raw FROM events WHERE ${where} AND action = 'auth.login'`,
  )
  assert.equal(sample?.source_host, 'ssh-gw-01')
  assert.equal(sample?.source_product, 'OpenSSH')
  assert.match(sample?.raw ?? '', /^<38>\w{3} [ \d]\d \d\d:\d\d:\d\d ssh-gw-01 CEF:0\|OpenBSD\|OpenSSH\|7\.2\|auth\.login\|/)
}

describe('OpenSSH CEF corpus end to end', () => {
  test('over TCP gives 2000 rows', async () => {
    const port = testApp.addresses.cef.tcp?.port
    assert.ok(port !== undefined)
    const result = await sendCefFile({ file: fileURLToPath(CORPUS_PATH), protocol: 'tcp', host: '127.0.0.1', port, rebaseTime: true })
    assert.equal(result.sent, 2000)
    await assertStored('cef-tcp')
  })

  test('over UDP at a set rate gives 2000 rows', async () => {
    const port = testApp.addresses.cef.udp?.port
    assert.ok(port !== undefined)
    const result = await sendCefFile({
      file: fileURLToPath(CORPUS_PATH),
      protocol: 'udp',
      host: '127.0.0.1',
      port,
      rebaseTime: true,
      ratePerSecond: 4000,
    })
    assert.equal(result.sent, 2000)
    await assertStored('cef-udp')
  })
})
