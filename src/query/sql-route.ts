import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import type { QueryConfig } from '../config/types.js'
import { SiemError } from '../errors.js'
import type { ApiKeyAuth } from '../http/auth.js'
import type { KeyRateLimiter } from './rate-limit.js'
import { runReadOnlySql } from './readonly-sql.js'

function parseJsonObject(body: unknown): Record<string, unknown> {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : ''
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    // Reported below with the same message as a non-object.
  }
  throw new SiemError('SIEM_ERR_QUERY_INVALID', 'the body must be a JSON object such as {"query": "SELECT 1"}')
}

/**
 * POST /v1/sql for admin keys: one read-only statement, answered as
 * `{"rows": [...]}`. It counts against the key's query rate limit.
 */
export function registerSqlRoute(
  app: FastifyInstance,
  client: ClickHouseClient,
  auth: ApiKeyAuth,
  config: QueryConfig,
  limiter: KeyRateLimiter,
): void {
  app.post('/v1/sql', async (request, reply) => {
    const principal = auth.authenticate(request.headers['x-api-key'], 'admin')
    limiter.take(principal.keyName)
    const body = parseJsonObject(request.body)
    const result = await runReadOnlySql(client, body['query'], { timeoutMs: config.timeout, maxRows: config.max_rows })
    request.log.info({ key: principal.keyName, rows: result.row_count, duration_ms: result.elapsed_ms }, 'sql query')
    return reply.send({ request_id: request.id, ...result })
  })
}
