import { SiemError } from '../errors.js'
import { parseProjection, type Projection } from './event-shape.js'
import { parseFilterText, parseFilters, type Filter } from './filters.js'
import {
  booleanOption,
  choiceOption,
  integerOption,
  rejectUnknownKeys,
  single,
  stringOption,
  type RequestInput,
} from './request-input.js'
import { parseText } from './text-match.js'
import { parseTimeRangeSpec, type TimeRangeSpec } from './time-range.js'

export const DEFAULT_SEARCH_LIMIT = 100
export const MAX_SEARCH_LIMIT = 10_000
export const DEFAULT_START = 'now-24h'

export type SortOrder = 'asc' | 'desc'

/** The part of a request that selects rows: shared by search and aggregate. */
export interface EventSelection {
  range: TimeRangeSpec
  filters: Filter[]
  text: string | undefined
  ignoreCase: boolean
}

export interface SearchRequest extends EventSelection {
  /** Tenant named in the request; undefined means the key's own. */
  tenant: string | undefined
  sort: SortOrder
  limit: number
  projection: Projection
  cursor: string | undefined
}

const BODY_KEYS = ['time_range', 'filters', 'text', 'ignore_case', 'sort', 'limit', 'fields', 'cursor', 'tenant'] as const
const QUERY_KEYS = ['start', 'end', 'filter', 'filters', 'text', 'ignore_case', 'sort', 'limit', 'fields', 'cursor', 'tenant'] as const

/** Reads the selection part (`time_range`, `filters`, `text`, `ignore_case`) of a JSON body. */
export function parseSelection(body: RequestInput): EventSelection {
  return {
    range: parseTimeRangeSpec(body['time_range'], DEFAULT_START),
    filters: parseFilters(body['filters']),
    text: parseText(body['text']),
    ignoreCase: booleanOption(body['ignore_case'], 'ignore_case'),
  }
}

/** Reads the body of POST /v1/search. */
export function parseSearchBody(body: RequestInput, maxRows: number): SearchRequest {
  rejectUnknownKeys(body, BODY_KEYS, 'the search request')
  return {
    ...parseSelection(body),
    tenant: stringOption(body['tenant'], 'tenant'),
    sort: choiceOption(body['sort'], 'sort', ['asc', 'desc'], 'desc'),
    limit: parseLimit(body['limit'], maxRows),
    projection: parseProjection(body['fields']),
    cursor: stringOption(body['cursor'], 'cursor'),
  }
}

/** Turns the query string of GET /v1/search into the same request as a POST body. */
export function searchBodyFromQuery(query: RequestInput): RequestInput {
  rejectUnknownKeys(query, QUERY_KEYS, 'the search request')
  const body: RequestInput = {}
  const start = single(query['start'], 'start')
  const end = single(query['end'], 'end')
  if (start !== undefined || end !== undefined) body['time_range'] = { ...(start === undefined ? {} : { start }), ...(end === undefined ? {} : { end }) }
  const filters: unknown[] = []
  const json = single(query['filters'], 'filters')
  if (json !== undefined) {
    try {
      const parsed: unknown = JSON.parse(json)
      if (Array.isArray(parsed)) filters.push(...parsed)
      else filters.push(parsed)
    } catch {
      throw new SiemError('SIEM_ERR_QUERY_INVALID', 'filters must be a JSON array of {"field", "op", "value"} objects', { value: json.slice(0, 100) })
    }
  }
  const texts = query['filter'] === undefined ? [] : Array.isArray(query['filter']) ? query['filter'] : [query['filter']]
  for (const [index, text] of texts.entries()) {
    const filter = parseFilterText(String(text), filters.length + index)
    filters.push({ field: filter.field.type === 'metadata' ? filter.field.name : filter.field.spec.name, op: filter.op, value: filter.value })
  }
  if (filters.length > 0) body['filters'] = filters
  for (const key of ['text', 'ignore_case', 'sort', 'limit', 'fields', 'cursor', 'tenant'] as const) {
    const value = single(query[key], key)
    if (value !== undefined) body[key] = value
  }
  return body
}

function parseLimit(value: unknown, maxRows: number): number {
  const cap = Math.min(MAX_SEARCH_LIMIT, maxRows)
  const limit = integerOption(value, 'limit', Math.min(DEFAULT_SEARCH_LIMIT, cap), 1, MAX_SEARCH_LIMIT)
  if (limit > cap) {
    throw new SiemError('SIEM_ERR_QUERY_TOO_MANY_ROWS', `limit ${limit} is more than query.max_rows (${maxRows}); page with the cursor instead`, {
      value: limit,
    })
  }
  return limit
}

/** The parts of a selection that decide which rows match, in a stable form for a cursor fingerprint. */
export function selectionKey(selection: EventSelection): unknown {
  return {
    range: selection.range,
    filters: selection.filters.map((filter) => [
      filter.field.type === 'metadata' ? filter.field.name : filter.field.spec.name,
      filter.op,
      filter.value,
    ]),
    text: selection.text ?? null,
    ignoreCase: selection.ignoreCase,
  }
}
