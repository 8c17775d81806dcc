import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/load.js'
import { CefNormalizer } from '../../src/ingest/cef/normalizer.js'
import { createLogger } from '../../src/logger.js'
import { EventValidator } from '../../src/schema/validate.js'
import { openStorage } from '../../src/storage/client.js'
import { runMigrations } from '../../src/storage/migrator.js'
import { toCefLine } from '../../bench/model/cef-lines.js'
import { TENANTS, flattenTemplates, parseTemplate } from '../../bench/model/event-model.js'
import { EventGenerator } from '../../bench/model/js-generator.js'
import { datasetInsertSql } from '../../bench/model/sql-generator.js'

const config = loadConfig({ env: {} })
const validator = new EventValidator(config.validation)

/** Share of each key among the values. */
function shares(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return new Map([...counts].map(([key, count]) => [key, count / values.length]))
}

describe('benchmark event model', () => {
  test('generated events pass validation', () => {
    const generator = new EventGenerator(11)
    const now = Date.now()
    for (let i = 0; i < 2000; i++) {
      const value = { event_id: randomUUID(), ...generator.next(now, 60_000) }
      const result = validator.validate({ value, rawText: '', tenantId: 'acme', receivedAt: now * 1000 })
      assert.ok(result.ok, `invalid event ${JSON.stringify(value)}: ${JSON.stringify(!result.ok && result.errors)}`)
    }
  })

  test('same seed gives same events', () => {
    const now = Date.now()
    const first = new EventGenerator(5).next(now, 60_000)
    const second = new EventGenerator(5).next(now, 60_000)
    assert.deepEqual(first, second)
  })

  test('CEF lines normalize to valid events', () => {
    const generator = new EventGenerator(12)
    const normalizer = new CefNormalizer(config.cef)
    const now = Date.now()
    for (let i = 0; i < 500; i++) {
      const event = generator.next(now, 60_000)
      const candidate = normalizer.normalize(toCefLine(event), { receivedAt: now, peerAddress: '127.0.0.1' })
      assert.equal(candidate.kind, 'object', `CEF line not parsed: ${toCefLine(event)}`)
      if (candidate.kind !== 'object') continue
      const result = validator.validate({ value: candidate.value, rawText: '', tenantId: 'cef', receivedAt: now * 1000 })
      assert.ok(result.ok, `normalized CEF event invalid: ${JSON.stringify(!result.ok && result.errors)}`)
      if (result.ok) assert.equal(result.row.action, event.action)
    }
  })

  test('unknown placeholder rejected', () => {
    assert.throws(() => parseTemplate('user {nobody} from {ip}'), /unknown placeholder \{nobody\}/)
    assert.deepEqual(parseTemplate('{a|b} x'), [{ kind: 'choice', options: ['a', 'b'] }, { kind: 'text', text: ' x' }])
  })

  test('SQL data set matches the model shares', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'siem-bench-model-'))
    const storage = await openStorage(loadConfig({ env: {}, overrides: { storage: { data_dir: directory } } }).storage)
    try {
      await runMigrations(storage.client, createLogger({ level: 'silent' }))
      const rows = 50_000
      await storage.client.command({ query: datasetInsertSql({ start: 0, count: rows, endMs: Date.now(), spanMs: 24 * 3600 * 1000 }) })
      const result = await storage.client.query({
        query: 'SELECT tenant_id, action, source_product, timestamp FROM events',
        format: 'JSONEachRow',
      })
      const stored = await result.json<{ tenant_id: string; action: string; source_product: string; timestamp: string }>()
      assert.equal(stored.length, rows)

      const tenantShares = shares(stored.map((row) => row.tenant_id))
      const tenantTotal = TENANTS.reduce((sum, tenant) => sum + tenant.weight, 0)
      for (const tenant of TENANTS) {
        const expected = tenant.weight / tenantTotal
        assert.ok(Math.abs((tenantShares.get(tenant.id) ?? 0) - expected) < 0.02, `tenant ${tenant.id}: ${tenantShares.get(tenant.id)} vs ${expected}`)
      }
      const expectedActions = new Map<string, number>()
      for (const entry of flattenTemplates()) {
        const key = `${entry.product.product}/${entry.template.action}`
        expectedActions.set(key, (expectedActions.get(key) ?? 0) + entry.share)
      }
      const actionShares = shares(stored.map((row) => `${row.source_product}/${row.action}`))
      for (const [key, expected] of expectedActions) {
        assert.ok(Math.abs((actionShares.get(key) ?? 0) - expected) < 0.01, `${key}: ${actionShares.get(key)} vs ${expected}`)
      }
      const oldest = Date.parse(`${stored.map((row) => row.timestamp).sort()[0]?.replace(' ', 'T')}Z`)
      assert.ok(Date.now() - oldest <= 24 * 3600 * 1000 + 60_000, 'events older than 24 h')
    } finally {
      await storage.close()
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
