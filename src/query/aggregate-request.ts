import { SiemError } from '../errors.js'
import { resolveField, type FieldRef } from './fields.js'
import { choiceOption, integerOption, rejectUnknownKeys, stringOption, type RequestInput } from './request-input.js'
import { parseSelection, type EventSelection } from './search-request.js'
import { parseDuration } from './time-range.js'

export const AGGREGATION_TYPES = ['count', 'top', 'group_by', 'histogram', 'severity_bands'] as const
export type AggregationType = (typeof AGGREGATION_TYPES)[number]

/** Which table answers: `auto` reads the hourly rollup where it fits, `events` never does, `rollup` insists. */
export const AGGREGATE_SOURCES = ['auto', 'events', 'rollup'] as const
export type AggregateSource = (typeof AGGREGATE_SOURCES)[number]

export type Aggregation =
  | { name: string; type: 'count' }
  | { name: string; type: 'top'; field: FieldRef; limit: number }
  | { name: string; type: 'group_by'; fields: FieldRef[]; limit: number }
  | { name: string; type: 'histogram'; interval: string; intervalMicros: number }
  | { name: string; type: 'severity_bands' }

export interface AggregateRequest extends EventSelection {
  tenant: string | undefined
  source: AggregateSource
  aggregations: Aggregation[]
}

export const MAX_AGGREGATIONS = 10
export const DEFAULT_TOP_LIMIT = 10
export const MAX_TOP_LIMIT = 1000
export const MAX_GROUP_FIELDS = 4
export const MAX_HISTOGRAM_BUCKETS = 10_000
const MIN_INTERVAL_MICROS = 1_000_000

const BODY_KEYS = ['time_range', 'filters', 'text', 'ignore_case', 'tenant', 'source', 'aggregations'] as const
const NAME = /^[A-Za-z0-9_.-]{1,64}$/

function invalid(message: string, value?: unknown): SiemError {
  return new SiemError('SIEM_ERR_QUERY_INVALID', message, { value })
}

/** A field that can be a group key: no free text (raw), metadata blobs, ids or times. */
function groupField(name: unknown, where: string): FieldRef {
  const field = resolveField(name, where)
  if (field.type === 'column' && (field.spec.name === 'raw' || field.spec.kind === 'time' || field.spec.kind === 'uuid')) {
    throw invalid(`${where} ${field.spec.name} cannot be grouped by; use a field such as action or actor.ip_address`, field.spec.name)
  }
  return field
}

function parseAggregation(raw: unknown, index: number, maxRows: number): Aggregation {
  const where = `aggregations[${index}]`
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where} must be an object with a "type"`, raw)
  const record = raw as RequestInput
  const type = record['type']
  if (typeof type !== 'string' || !(AGGREGATION_TYPES as readonly string[]).includes(type)) {
    throw invalid(`${where}.type must be one of ${AGGREGATION_TYPES.join(', ')}`, type)
  }
  const name = stringOption(record['name'], `${where}.name`) ?? `${type}_${index}`
  if (!NAME.test(name)) throw invalid(`${where}.name must be 1 to 64 letters, digits, '_', '.' or '-'`, name)
  const maxLimit = Math.min(MAX_TOP_LIMIT, maxRows)
  switch (type as AggregationType) {
    case 'count':
      rejectUnknownKeys(record, ['type', 'name'], where)
      return { name, type: 'count' }
    case 'severity_bands':
      rejectUnknownKeys(record, ['type', 'name'], where)
      return { name, type: 'severity_bands' }
    case 'top':
      rejectUnknownKeys(record, ['type', 'name', 'field', 'limit'], where)
      return {
        name,
        type: 'top',
        field: groupField(record['field'], `${where}.field`),
        limit: integerOption(record['limit'], `${where}.limit`, Math.min(DEFAULT_TOP_LIMIT, maxLimit), 1, maxLimit),
      }
    case 'group_by': {
      rejectUnknownKeys(record, ['type', 'name', 'fields', 'limit'], where)
      const fields = record['fields']
      if (!Array.isArray(fields) || fields.length === 0 || fields.length > MAX_GROUP_FIELDS) {
        throw invalid(`${where}.fields must be an array of 1 to ${MAX_GROUP_FIELDS} field names`, fields)
      }
      return {
        name,
        type: 'group_by',
        fields: fields.map((field, position) => groupField(field, `${where}.fields[${position}]`)),
        limit: integerOption(record['limit'], `${where}.limit`, Math.min(100, maxLimit), 1, maxLimit),
      }
    }
    case 'histogram': {
      rejectUnknownKeys(record, ['type', 'name', 'interval'], where)
      const interval = record['interval'] ?? '1h'
      const micros = typeof interval === 'string' ? parseDuration(interval) : undefined
      if (micros === undefined || micros < MIN_INTERVAL_MICROS) {
        throw invalid(`${where}.interval must be a duration of at least 1s such as 5m, 1h or 1d`, interval)
      }
      return { name, type: 'histogram', interval: interval as string, intervalMicros: micros }
    }
  }
}

/** Reads the body of POST /v1/aggregate. */
export function parseAggregateBody(body: RequestInput, maxRows: number): AggregateRequest {
  rejectUnknownKeys(body, BODY_KEYS, 'the aggregate request')
  const list = body['aggregations']
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_AGGREGATIONS) {
    throw invalid(`aggregations must be an array of 1 to ${MAX_AGGREGATIONS} aggregations`, list)
  }
  const aggregations = list.map((item, index) => parseAggregation(item, index, maxRows))
  const names = new Set(aggregations.map((aggregation) => aggregation.name))
  if (names.size !== aggregations.length) throw invalid('aggregations must have distinct names')
  return {
    ...parseSelection(body),
    tenant: stringOption(body['tenant'], 'tenant'),
    source: choiceOption(body['source'], 'source', AGGREGATE_SOURCES, 'auto'),
    aggregations,
  }
}
