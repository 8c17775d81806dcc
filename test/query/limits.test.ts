import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isSiemError } from '../../src/errors.js'
import { QueryParams } from '../../src/query/query-params.js'
import { selectRows } from '../../src/query/run-query.js'
import { startTestApp, type TestApp } from '../support/app.js'
import { AUTH_OVERRIDES, Api, KEYS } from './support.js'

let testApp: TestApp

before(async () => {
  testApp = await startTestApp({ ...AUTH_OVERRIDES, query: { rate_limit_per_minute: 3, max_rows: 50, timeout: '1s' } })
})

after(async () => {
  await testApp.close()
})

describe('query limits', () => {
  test('the rate limit answers 429 with Retry-After', async () => {
    const alpha = new Api(testApp.url, KEYS.alpha)
    for (let index = 0; index < 3; index++) assert.equal((await alpha.get('/v1/stats')).status, 200)
    const limited = await alpha.post<{ error: { code: string; message: string } }>('/v1/search', {})
    assert.equal(limited.status, 429)
    assert.equal(limited.body.error.code, 'SIEM_ERR_QUERY_RATE_LIMITED')
    const retryAfter = Number(limited.headers.get('retry-after'))
    assert.ok(retryAfter >= 1, `Retry-After ${retryAfter}`)
    assert.ok(retryAfter <= 60, `Retry-After ${retryAfter}`)
    // The limit is per key: another key still gets through.
    assert.equal((await new Api(testApp.url, KEYS.beta).get('/v1/stats')).status, 200)
  })

  test('the row cap refuses larger pages and histograms', async () => {
    const admin = new Api(testApp.url, KEYS.admin)
    const page = await admin.post<{ error: { code: string } }>('/v1/search', { limit: 51 })
    assert.equal(page.status, 422)
    assert.equal(page.body.error.code, 'SIEM_ERR_QUERY_TOO_MANY_ROWS')
    const histogram = await admin.post<{ error: { code: string } }>('/v1/aggregate', {
      time_range: { start: 'now-2h' },
      aggregations: [{ type: 'histogram', interval: '1m' }],
    })
    assert.equal(histogram.status, 422)
    assert.equal(histogram.body.error.code, 'SIEM_ERR_QUERY_TOO_MANY_ROWS')
    assert.equal((await admin.post('/v1/search', { limit: 50 })).status, 200)
  })

  test('a query over the time limit is a timeout error', async () => {
    const started = Date.now()
    await assert.rejects(
      selectRows(testApp.app.storage.client, 'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 0', new QueryParams(), {
        timeoutMs: 1000,
        maxRows: 50,
      }),
      (err: unknown) => isSiemError(err, 'SIEM_ERR_QUERY_TIMEOUT') && err.statusCode === 504,
    )
    assert.ok(Date.now() - started < 10_000)
  })

  test('a result over the row cap is refused by ClickHouse too', async () => {
    await assert.rejects(
      selectRows(testApp.app.storage.client, 'SELECT number FROM numbers(1000)', new QueryParams(), { timeoutMs: 1000, maxRows: 50 }),
      (err: unknown) => isSiemError(err, 'SIEM_ERR_QUERY_TOO_MANY_ROWS'),
    )
  })
})
