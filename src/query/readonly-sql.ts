import type { ClickHouseClient } from '@clickhouse/client'
import { SiemError } from '../errors.js'
import { splitSqlStatements } from '../storage/sql-split.js'
import { calledNames } from './function-calls.js'
import { classifyQueryError } from './query-errors.js'

export interface ReadOnlyLimits {
  /** Time limit in milliseconds. */
  timeoutMs: number
  maxRows: number
}

export interface ReadOnlyResult {
  rows: Record<string, unknown>[]
  row_count: number
  elapsed_ms: number
}

const READ_STATEMENT = /^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b/i

/**
 * The embedded engine runs `SELECT … INTO OUTFILE` inside this process even
 * with readonly = 1 (chdb 3.4), which writes a file on the host. The keyword
 * has no other use, so it is refused anywhere in the text, strings and
 * comments included, which errs on the safe side.
 */
const OUTFILE = /\bOUTFILE\b/i

/**
 * Table functions that only make rows up or read this database's own tables.
 * Every other table function reads files, URLs or other servers, and
 * `DESCRIBE` or `EXPLAIN` over one reads its source even with readonly = 1,
 * so they are refused by name. Unknown names are refused too, because the
 * list of table functions comes from the engine itself.
 */
const ALLOWED_TABLE_FUNCTIONS = new Set([
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'generate_series',
  'generateseries',
  'generaterandom',
  'values',
  'null',
  'merge',
  'view',
  'format',
  'primes',
])

/** Table functions the engine has, read once per client from system.table_functions. */
const tableFunctionNames = new WeakMap<ClickHouseClient, Promise<Set<string>>>()

function tableFunctionsOf(client: ClickHouseClient): Promise<Set<string>> {
  let names = tableFunctionNames.get(client)
  if (names === undefined) {
    names = client
      .query({ query: 'SELECT name FROM system.table_functions', format: 'JSONEachRow' })
      .then((result) => result.json<{ name: string }>())
      .then((rows) => new Set(rows.map((row) => row.name.toLowerCase())))
    names.catch(() => tableFunctionNames.delete(client))
    tableFunctionNames.set(client, names)
  }
  return names
}

async function rejectOutsideSources(client: ClickHouseClient, statement: string): Promise<void> {
  const tableFunctions = await tableFunctionsOf(client)
  for (const name of calledNames(statement)) {
    const key = name.toLowerCase()
    if (tableFunctions.has(key) && !ALLOWED_TABLE_FUNCTIONS.has(key)) {
      throw new SiemError(
        'SIEM_ERR_QUERY_INVALID',
        `table function ${name}() is not allowed: it reads files, URLs or other servers; query this database's tables instead`,
        { value: name },
      )
    }
  }
}

/**
 * Runs one read-only statement with `readonly = 1`, a time limit and a row
 * cap, and returns its rows as objects. The statement is checked to be a
 * single read before it is sent; the server's readonly mode is what enforces it.
 */
export async function runReadOnlySql(client: ClickHouseClient, query: unknown, limits: ReadOnlyLimits): Promise<ReadOnlyResult> {
  if (typeof query !== 'string' || query.trim() === '') {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', 'query must be a non-empty string of SQL', { value: query })
  }
  const statements = splitSqlStatements(query)
  if (statements.length !== 1) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `send exactly one SQL statement; got ${statements.length}`, { value: statements.length })
  }
  const statement = statements[0] as string
  if (!READ_STATEMENT.test(statement)) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', 'only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN statements are allowed', {
      value: statement.slice(0, 80),
    })
  }
  if (OUTFILE.test(statement)) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', 'INTO OUTFILE is not allowed; the rows come back in the response', {
      value: statement.slice(0, 80),
    })
  }
  await rejectOutsideSources(client, statement)
  const started = performance.now()
  try {
    const result = await client.query({
      query: statement,
      format: 'JSONEachRow',
      // readonly goes last: a server applies settings in order and refuses to change any after it.
      clickhouse_settings: {
        max_execution_time: Math.max(1, Math.ceil(limits.timeoutMs / 1000)),
        max_result_rows: String(limits.maxRows),
        result_overflow_mode: 'throw',
        readonly: '1',
      },
    })
    const rows = await result.json<Record<string, unknown>>()
    return { rows, row_count: rows.length, elapsed_ms: Math.round(performance.now() - started) }
  } catch (err) {
    throw classifyQueryError(err, limits)
  }
}
