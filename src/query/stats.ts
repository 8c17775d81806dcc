import type { ClickHouseClient } from '@clickhouse/client'
import type { AggregateRequest } from './aggregate-request.js'
import { runAggregate, type AggregationResult } from './aggregate.js'
import { resolveField } from './fields.js'
import type { QueryLimits } from './run-query.js'

export interface StatsResult {
  tenant: string
  time_range: { start: string; end: string }
  total: number
  severity_bands: unknown
  actions: unknown
  outcomes: unknown
  products: unknown
  /** Tables each part was read from, as in AnsweredFrom. */
  sources: Record<string, string>
}

/** Most actions and products listed. */
const STATS_TOP = 50

/**
 * The dashboard summary of the last 24 hours: total, severity bands, and
 * counts by action, outcome and product. Counts read the hourly rollup for
 * the whole hours of the range; severity bands need `events`.
 */
export async function runStats(client: ClickHouseClient, limits: QueryLimits, tenant: string): Promise<StatsResult> {
  const request: AggregateRequest = {
    range: { start: 'now-24h', end: 'now' },
    filters: [],
    text: undefined,
    ignoreCase: false,
    tenant,
    source: 'auto',
    aggregations: [
      { name: 'total', type: 'count' },
      { name: 'severity_bands', type: 'severity_bands' },
      { name: 'actions', type: 'top', field: resolveField('action', 'stats'), limit: STATS_TOP },
      { name: 'outcomes', type: 'top', field: resolveField('outcome', 'stats'), limit: 3 },
      { name: 'products', type: 'top', field: resolveField('source.product', 'stats'), limit: STATS_TOP },
    ],
  }
  const result = await runAggregate(client, limits, tenant, request)
  const byName = new Map<string, AggregationResult>(result.aggregations.map((aggregation) => [aggregation.name, aggregation]))
  const part = (name: string): AggregationResult => byName.get(name) as AggregationResult
  return {
    tenant,
    time_range: result.time_range,
    total: Number(part('total')['value']),
    severity_bands: part('severity_bands')['bands'],
    actions: part('actions')['buckets'],
    outcomes: part('outcomes')['buckets'],
    products: part('products')['buckets'],
    sources: Object.fromEntries(result.aggregations.map((aggregation) => [aggregation.name, aggregation.source])),
  }
}
