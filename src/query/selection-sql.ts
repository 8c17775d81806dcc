import { filterCondition, type Filter } from './filters.js'
import { TIME_TYPE, type QueryParams } from './query-params.js'
import { textCondition } from './text-match.js'
import { timeParam, type TimeRange } from './time-range.js'

/** What narrows a query to some events of one tenant. */
export interface SelectionSql {
  tenant: string
  filters: readonly Filter[]
  text: string | undefined
  ignoreCase: boolean
}

/** `timestamp` within [start, end), bound as DateTime64(6, 'UTC'). */
export function timeCondition(column: string, range: TimeRange, params: QueryParams): string {
  return `${column} >= ${params.bind(TIME_TYPE, timeParam(range.start))} AND ${column} < ${params.bind(TIME_TYPE, timeParam(range.end))}`
}

/**
 * The WHERE conditions of a query over `events`: the tenant first (the
 * table's sort key starts with it), the time range, every filter and the
 * free text. Each user value is a bound parameter.
 */
export function selectionConditions(selection: SelectionSql, range: TimeRange, params: QueryParams): string[] {
  const conditions = [`tenant_id = ${params.bind('String', selection.tenant)}`, timeCondition('timestamp', range, params)]
  for (const filter of selection.filters) conditions.push(filterCondition(filter, params))
  if (selection.text !== undefined) conditions.push(textCondition(selection.text, selection.ignoreCase, params))
  return conditions
}
