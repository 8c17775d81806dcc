import { SiemError } from '../errors.js'
import { nowMicros } from '../schema/timestamp.js'
import { resolveField, type FieldRef, type FieldSpec } from './fields.js'
import { QueryParams, TIME_TYPE } from './query-params.js'
import { parseInstant, timeParam } from './time-range.js'

export const FILTER_OPS = ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'prefix'] as const
export type FilterOp = (typeof FILTER_OPS)[number]

export type FilterScalar = string | number | boolean
export type FilterValue = FilterScalar | FilterScalar[]

export interface Filter {
  field: FieldRef
  op: FilterOp
  value: FilterValue
}

/** Maximum number of filters in one request, and of values in one `in`. */
export const MAX_FILTERS = 32
export const MAX_IN_VALUES = 1000
const MAX_VALUE_LENGTH = 4096

const COMPARE_SQL: Record<'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte', string> = {
  eq: '=',
  neq: '!=',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function invalid(message: string, value?: unknown): SiemError {
  return new SiemError('SIEM_ERR_QUERY_INVALID', message, { value })
}

function checkScalar(value: unknown, where: string): FilterScalar {
  if (typeof value === 'string') {
    if (value.length > MAX_VALUE_LENGTH) throw invalid(`${where} is longer than ${MAX_VALUE_LENGTH} characters`, value.length)
    return value
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'boolean') return value
  throw invalid(`${where} must be a string, a finite number or a boolean`, value)
}

/** Reads one `{field, op, value}` object of a request's `filters`. */
export function parseFilter(raw: unknown, index: number): Filter {
  const where = `filters[${index}]`
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid(`${where} must be an object {"field": ..., "op": ..., "value": ...}`, raw)
  }
  const record = raw as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (key !== 'field' && key !== 'op' && key !== 'value') throw invalid(`${where} has an unknown key ${JSON.stringify(key.slice(0, 64))}`, key.slice(0, 64))
  }
  const field = resolveField(record['field'], `${where}.field`)
  const op = record['op'] ?? 'eq'
  if (typeof op !== 'string' || !(FILTER_OPS as readonly string[]).includes(op)) {
    throw invalid(`${where}.op must be one of ${FILTER_OPS.join(', ')}`, op)
  }
  const rawValue = record['value']
  let value: FilterValue
  if (op === 'in') {
    if (!Array.isArray(rawValue) || rawValue.length === 0 || rawValue.length > MAX_IN_VALUES) {
      throw invalid(`${where}.value must be an array of 1 to ${MAX_IN_VALUES} values for op "in"`, rawValue)
    }
    value = rawValue.map((item, position) => checkScalar(item, `${where}.value[${position}]`))
  } else {
    value = checkScalar(rawValue, `${where}.value`)
  }
  const filter: Filter = { field, op: op as FilterOp, value }
  // Building the condition once checks the op and the values against the field's type, so a bad filter fails before any query runs.
  filterCondition(filter, new QueryParams())
  return filter
}

/** Reads a request's `filters` array. */
export function parseFilters(raw: unknown): Filter[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) throw invalid('filters must be an array of {"field", "op", "value"} objects', raw)
  if (raw.length > MAX_FILTERS) throw invalid(`at most ${MAX_FILTERS} filters are allowed`, raw.length)
  return raw.map((item, index) => parseFilter(item, index))
}

/**
 * Parses the `field:op:value` form of a filter (query strings and the CLI).
 * The value is everything after the second colon; for `in` it is a
 * comma-separated list.
 */
export function parseFilterText(text: string, index: number): Filter {
  const first = text.indexOf(':')
  const second = first === -1 ? -1 : text.indexOf(':', first + 1)
  if (first <= 0 || second === -1) {
    throw invalid(`filter ${JSON.stringify(text.slice(0, 100))} must read field:op:value, such as action:eq:auth.failure`, text.slice(0, 100))
  }
  const field = text.slice(0, first)
  const op = text.slice(first + 1, second)
  const rest = text.slice(second + 1)
  return parseFilter({ field, op, value: op === 'in' ? rest.split(',') : rest }, index)
}

function scalars(value: FilterValue): FilterScalar[] {
  return Array.isArray(value) ? value : [value]
}

function numberOf(value: FilterScalar, where: string): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  if (!Number.isFinite(number)) throw invalid(`${where} must be a number`, value)
  return number
}

function timeOf(value: FilterScalar, where: string): string {
  return timeParam(parseInstant(value, nowMicros(), where))
}

function uuidOf(value: FilterScalar, where: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalid(`${where} must be a UUID`, value)
  return value.toLowerCase()
}

function enumOf(spec: FieldSpec, value: FilterScalar, where: string): string {
  const values = spec.values ?? []
  if (typeof value !== 'string' || !values.includes(value)) throw invalid(`${where} must be one of ${values.join(', ')}`, value)
  return value
}

function rejectOp(spec: FieldSpec, op: FilterOp, allowed: readonly FilterOp[]): void {
  if (!allowed.includes(op)) throw invalid(`op "${op}" does not apply to ${spec.name}; use one of ${allowed.join(', ')}`, op)
}

/** Binds every value of a filter with one conversion and ClickHouse type. */
function comparison(column: string, op: FilterOp, values: unknown[], type: string, params: QueryParams): string {
  if (op === 'in') return `${column} IN ${params.bind(`Array(${type})`, values)}`
  if (op === 'contains') return `position(${column}, ${params.bind(type, values[0])}) > 0`
  if (op === 'prefix') return `startsWith(${column}, ${params.bind(type, values[0])})`
  return `${column} ${COMPARE_SQL[op]} ${params.bind(type, values[0])}`
}

function columnCondition(spec: FieldSpec, op: FilterOp, value: FilterValue, params: QueryParams): string {
  const where = `the value of ${spec.name}`
  const items = scalars(value)
  switch (spec.kind) {
    case 'string':
      return comparison(spec.column, op, items.map(String), 'String', params)
    case 'enum':
      rejectOp(spec, op, ['eq', 'neq', 'in'])
      return comparison(spec.column, op, items.map((item) => enumOf(spec, item, where)), 'String', params)
    case 'number':
      rejectOp(spec, op, ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte'])
      return comparison(spec.column, op, items.map((item) => numberOf(item, where)), 'Float64', params)
    case 'time':
      rejectOp(spec, op, ['eq', 'neq', 'in', 'gt', 'gte', 'lt', 'lte'])
      return comparison(spec.column, op, items.map((item) => timeOf(item, where)), TIME_TYPE, params)
    case 'uuid':
      rejectOp(spec, op, ['eq', 'neq', 'in'])
      return comparison(spec.column, op, items.map((item) => uuidOf(item, where)), 'UUID', params)
  }
}

/** Binds each key of a metadata path as a String parameter and joins them as JSON path arguments. */
function pathArguments(path: string[], params: QueryParams): string {
  return path.map((key) => params.bind('String', key)).join(', ')
}

/**
 * SQL for the text form of a metadata value: a JSON string's content, or the
 * JSON text of any other value (`24200`, `true`, `{"a":1}`), '' when absent.
 */
export function metadataTextExpression(path: string[], params: QueryParams): string {
  const args = pathArguments(path, params)
  return `if(JSONType(metadata, ${args}) = 'String', JSONExtractString(metadata, ${args}), JSONExtractRaw(metadata, ${args}))`
}

function isNumeric(value: FilterScalar): boolean {
  return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
}

/**
 * Builds a filter on `metadata.<key>`. Numbers compare numerically, with a
 * JSON number or a numeric string in the event, and everything else compares
 * as text. `neq` also matches events without the key, like `neq` on an
 * empty column.
 */
function metadataCondition(path: string[], op: FilterOp, value: FilterValue, params: QueryParams): string {
  const items = scalars(value)
  const numericCompare = op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte' ? items.every(isNumeric) : items.every((item) => typeof item === 'number')
  if (numericCompare && op !== 'contains' && op !== 'prefix') {
    const number = `JSONExtract(metadata, ${pathArguments(path, params)}, 'Nullable(Float64)')`
    const condition = comparison(number, op, items.map((item) => Number(item)), 'Float64', params)
    return op === 'neq' ? `ifNull(${condition}, 1)` : `ifNull(${condition}, 0)`
  }
  return comparison(metadataTextExpression(path, params), op, items.map(String), 'String', params)
}

/** Builds the SQL condition of one filter; every value is bound through `params`. */
export function filterCondition(filter: Filter, params: QueryParams): string {
  if (filter.field.type === 'metadata') return metadataCondition(filter.field.path, filter.op, filter.value, params)
  return columnCondition(filter.field.spec, filter.op, filter.value, params)
}

/** True when every filter names a column that `events_hourly` has too. */
export function filtersFitRollup(filters: readonly Filter[]): boolean {
  return filters.every((filter) => filter.field.type === 'column' && filter.field.spec.inRollup === true)
}
