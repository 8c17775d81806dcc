import type { ClickHouseClient } from '@clickhouse/client'
import { SiemError } from '../errors.js'
import { parseProjection, projectionColumns, toCanonicalEvent, type EventColumns } from './event-shape.js'
import { QueryParams } from './query-params.js'
import { selectRows, type QueryLimits } from './run-query.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Reads one event of a tenant by id. An id of another tenant is reported
 * as not found, exactly like an id that does not exist, so a key learns
 * nothing about other tenants' events.
 */
export async function getEvent(client: ClickHouseClient, limits: QueryLimits, tenant: string, id: string): Promise<Record<string, unknown>> {
  if (!UUID.test(id)) throw new SiemError('SIEM_ERR_QUERY_INVALID', `event id ${JSON.stringify(id.slice(0, 64))} is not a UUID`, { value: id.slice(0, 64) })
  const projection = parseProjection(undefined)
  const params = new QueryParams()
  const sql = [
    `SELECT ${projectionColumns(projection).join(', ')}`,
    'FROM events',
    `WHERE tenant_id = ${params.bind('String', tenant)} AND event_id = ${params.bind('UUID', id.toLowerCase())}`,
    'LIMIT 1',
  ].join('\n')
  const rows = await selectRows<EventColumns>(client, sql, params, limits)
  const row = rows[0]
  if (row === undefined) throw new SiemError('SIEM_ERR_NOT_FOUND', `no event ${id.toLowerCase()} in this tenant`, { value: id.toLowerCase() })
  return toCanonicalEvent(row, projection)
}
