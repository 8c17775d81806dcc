import type { ClickHouseClient } from '@clickhouse/client'
import { classifyQueryError } from './query-errors.js'
import type { QueryParams } from './query-params.js'

/** The limits every API query runs under, from the `query` configuration section. */
export interface QueryLimits {
  /** Time limit in milliseconds. */
  timeoutMs: number
  /** Most rows one query may return. */
  maxRows: number
}

/**
 * Runs one generated SELECT with its bound parameters under the time limit
 * and the row cap, read-only, and returns its rows. ClickHouse errors become
 * catalogue errors (timeout 504, too many rows 422, else 400 or 503).
 */
export async function selectRows<T>(client: ClickHouseClient, sql: string, params: QueryParams, limits: QueryLimits): Promise<T[]> {
  try {
    const result = await client.query({
      query: sql,
      format: 'JSONEachRow',
      query_params: params.values,
      // readonly goes last: a server applies settings in order and refuses to change any after it.
      clickhouse_settings: {
        max_execution_time: Math.max(1, Math.ceil(limits.timeoutMs / 1000)),
        max_result_rows: String(limits.maxRows),
        result_overflow_mode: 'throw',
        readonly: '1',
      },
    })
    return await result.json<T>()
  } catch (err) {
    throw classifyQueryError(err, limits)
  }
}
