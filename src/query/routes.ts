import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { CefConfig, QueryConfig, ValidationConfig } from '../config/types.js'
import type { ApiKeyAuth } from '../http/auth.js'
import { CefNormalizer } from '../ingest/cef/normalizer.js'
import type { Ingestor } from '../ingest/types.js'
import { EventValidator } from '../schema/validate.js'
import { authenticateQuery, tenantFor } from './access.js'
import { parseAggregateBody } from './aggregate-request.js'
import { runAggregate } from './aggregate.js'
import { getEvent } from './event-lookup.js'
import { countQuarantine, listQuarantine, parseQuarantineQuery } from './quarantine-list.js'
import { KeyRateLimiter } from './rate-limit.js'
import { QuarantineReprocessor, parseReprocessBody } from './reprocess.js'
import { parseBodyObject, queryInput, rejectUnknownKeys, single, type RequestInput } from './request-input.js'
import type { QueryLimits } from './run-query.js'
import { runSearch } from './search.js'
import { parseSearchBody, searchBodyFromQuery } from './search-request.js'
import { runStats } from './stats.js'

export interface QueryRoutesOptions {
  client: ClickHouseClient
  auth: ApiKeyAuth
  config: QueryConfig
  /** The ingest pipeline, which reprocessing sends now-valid quarantine entries through. */
  ingestor: Ingestor
  /** Validation settings, to re-validate quarantine entries as the pipeline would. */
  validation: ValidationConfig
  /** CEF settings, to re-parse quarantined CEF lines as the listeners would. */
  cef: CefConfig
  /** Clock of the rate limiter, in epoch milliseconds; tests replace it. */
  now?: () => number
  /** Per-key rate limiter shared with other routes; one from `config` when absent. */
  limiter?: KeyRateLimiter
}

/**
 * Registers the search and query API: search (POST and GET), one event by
 * id, aggregate, stats, the quarantine listing and reprocessing. Every route
 * authenticates the API key, counts against the key's rate limit and runs
 * limited to one tenant: the key's own, or one an admin key names.
 */
export function registerQueryRoutes(app: FastifyInstance, options: QueryRoutesOptions): void {
  const { client, auth, config } = options
  const limits: QueryLimits = { timeoutMs: config.timeout, maxRows: config.max_rows }
  const limiter = options.limiter ?? new KeyRateLimiter(config.rate_limit_per_minute, options.now)
  const reprocessor = new QuarantineReprocessor({
    client,
    limits,
    ingestor: options.ingestor,
    validator: new EventValidator(options.validation),
    cefNormalizer: new CefNormalizer(options.cef),
  })

  const search = async (request: FastifyRequest, readBody: () => RequestInput) => {
    const principal = authenticateQuery(request, auth, limiter)
    const parsed = parseSearchBody(readBody(), limits.maxRows)
    const tenant = tenantFor(principal, parsed.tenant)
    const started = performance.now()
    const result = await runSearch(client, limits, tenant, parsed)
    const elapsed = Math.round(performance.now() - started)
    request.log.info({ key: principal.keyName, tenant_id: tenant, rows: result.count, windows: result.windows, duration_ms: elapsed }, 'search')
    return { request_id: request.id, ...result, elapsed_ms: elapsed }
  }

  app.post('/v1/search', async (request) => search(request, () => parseBodyObject(request.body)))
  app.get('/v1/search', async (request) => search(request, () => searchBodyFromQuery(queryInput(request.query))))

  app.get('/v1/events/:id', async (request) => {
    const principal = authenticateQuery(request, auth, limiter)
    const query = queryInput(request.query)
    rejectUnknownKeys(query, ['tenant'], 'the event request')
    const tenant = tenantFor(principal, single(query['tenant'], 'tenant'))
    const id = (request.params as { id: string }).id
    const event = await getEvent(client, limits, tenant, id)
    return { request_id: request.id, tenant, event }
  })

  app.post('/v1/aggregate', async (request) => {
    const principal = authenticateQuery(request, auth, limiter)
    const parsed = parseAggregateBody(parseBodyObject(request.body), limits.maxRows)
    const tenant = tenantFor(principal, parsed.tenant)
    const started = performance.now()
    const result = await runAggregate(client, limits, tenant, parsed)
    const elapsed = Math.round(performance.now() - started)
    request.log.info({ key: principal.keyName, tenant_id: tenant, aggregations: parsed.aggregations.length, duration_ms: elapsed }, 'aggregate')
    return { request_id: request.id, ...result, elapsed_ms: elapsed }
  })

  app.get('/v1/stats', async (request) => {
    const principal = authenticateQuery(request, auth, limiter)
    const query = queryInput(request.query)
    rejectUnknownKeys(query, ['tenant'], 'the stats request')
    const tenant = tenantFor(principal, single(query['tenant'], 'tenant'))
    return { request_id: request.id, ...(await runStats(client, limits, tenant)) }
  })

  app.get('/v1/quarantine', async (request) => {
    const principal = authenticateQuery(request, auth, limiter)
    const parsed = parseQuarantineQuery(queryInput(request.query), limits.maxRows)
    const tenant = tenantFor(principal, parsed.tenant)
    const [page, totals] = await Promise.all([
      listQuarantine(client, limits, tenant, parsed),
      countQuarantine(client, limits, tenant, parsed),
    ])
    return { request_id: request.id, ...page, totals }
  })

  app.post('/v1/quarantine/reprocess', async (request) => {
    // Reprocessing writes events and quarantine state, so it needs an admin key.
    const principal = authenticateQuery(request, auth, limiter, 'admin')
    const parsed = parseReprocessBody(parseBodyObject(request.body))
    const tenant = tenantFor(principal, parsed.tenant)
    const started = performance.now()
    const result = await reprocessor.reprocess(tenant, parsed, request.id, request.log)
    request.log.info(
      {
        key: principal.keyName,
        tenant_id: tenant,
        examined: result.examined,
        reprocessed: result.reprocessed,
        still_invalid: result.still_invalid,
        deferred: result.deferred,
        dry_run: result.dry_run,
        duration_ms: Math.round(performance.now() - started),
      },
      'quarantine reprocessed',
    )
    return { request_id: request.id, ...result }
  })
}
