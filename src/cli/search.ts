import { SiemError } from '../errors.js'
import { runSearch as searchStorage } from '../query/search.js'
import { parseSearchBody, type SearchRequest } from '../query/search-request.js'
import { DEFAULT_TENANT } from '../http/auth.js'
import { openStorage } from '../storage/client.js'
import { CONFIG_OPTIONS, configFromArgs, parseCommandArgs } from './args.js'
import { postJson } from './http-client.js'
import { OUTPUT_FORMATS, formatRows, type OutputFormat } from './output.js'

const HELP = `usage: siem search [TEXT] [options]

Searches stored events, with the options of POST /v1/search.

  TEXT, --text TEXT        free text over raw: the phrase, with word boundaries at its edges
  --ignore-case            match the text in any case (does not use the token index)
  --start TIME             RFC 3339 or relative such as now-24h (default now-24h)
  --end TIME               exclusive end (default now)
  --filter F               field:op:value, such as action:eq:auth.failure or
                           metadata.port:gte:1024; repeat for more. ops: eq neq in
                           gt gte lt lte contains prefix; for in, comma-separated values
  --sort desc|asc          by timestamp (default desc)
  --limit N                events per page (default 100, at most 10000)
  --fields LIST            comma-separated projection, such as timestamp,action,actor.ip_address
  --cursor C               continue after the page that printed this cursor
  --all                    follow the cursor through every page
  --tenant T               tenant to search (admin keys only; default the key's own)
  --format table|json|ndjson  output (default table)
  --url URL                ask a running server; without it, read the data
                           directory directly (only while no server holds it)
  --api-key KEY            API key for --url (also SIEM_API_KEY)
  --config FILE, --data-dir DIR  configuration for direct reads

Without --all, the cursor of the next page is printed to stderr.`

/** Columns of the table output when no --fields is given; raw goes last because it is long. */
const TABLE_FIELDS = ['timestamp', 'source.product', 'source.host', 'action', 'outcome', 'severity', 'actor.name', 'actor.ip_address', 'raw']

/** Most pages --all follows, so a runaway search stops. */
const MAX_PAGES = 10_000

interface Page {
  events: Record<string, unknown>[]
  next_cursor: string | null
}

const OPTIONS = {
  ...CONFIG_OPTIONS,
  url: { type: 'string' },
  'api-key': { type: 'string' },
  format: { type: 'string', default: 'table' },
  text: { type: 'string' },
  'ignore-case': { type: 'boolean' },
  start: { type: 'string' },
  end: { type: 'string' },
  filter: { type: 'string', multiple: true },
  sort: { type: 'string' },
  limit: { type: 'string' },
  fields: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  tenant: { type: 'string' },
} as const

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values']

/** Builds the POST /v1/search body from the command line. */
export function searchBodyFromArgs(values: Values, positionals: string[], format: OutputFormat): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  const text = [values.text, ...positionals].filter((part) => part !== undefined && part !== '').join(' ')
  if (text !== '') body['text'] = text
  if (values['ignore-case'] === true) body['ignore_case'] = true
  if (values.start !== undefined || values.end !== undefined) {
    body['time_range'] = { ...(values.start === undefined ? {} : { start: values.start }), ...(values.end === undefined ? {} : { end: values.end }) }
  }
  if (values.filter !== undefined && values.filter.length > 0) {
    body['filters'] = values.filter.map((filter) => filterObject(filter))
  }
  if (values.sort !== undefined) body['sort'] = values.sort
  if (values.limit !== undefined) body['limit'] = /^\d+$/.test(values.limit) ? Number(values.limit) : values.limit
  if (values.fields !== undefined) body['fields'] = values.fields.split(',').map((field) => field.trim())
  else if (format === 'table') body['fields'] = TABLE_FIELDS
  if (values.tenant !== undefined) body['tenant'] = values.tenant
  return body
}

function filterObject(text: string): Record<string, unknown> {
  const first = text.indexOf(':')
  const second = first === -1 ? -1 : text.indexOf(':', first + 1)
  if (first <= 0 || second === -1) {
    throw new SiemError('SIEM_ERR_CLI_USAGE', `--filter ${JSON.stringify(text)} must read field:op:value, such as action:eq:auth.failure`)
  }
  const op = text.slice(first + 1, second)
  const value = text.slice(second + 1)
  return { field: text.slice(0, first), op, value: op === 'in' ? value.split(',') : value }
}

/** Flattens a nested event into dotted columns for the table. */
function flatten(event: Record<string, unknown>, prefix = '', into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [key, value] of Object.entries(event)) {
    const name = prefix === '' ? key : `${prefix}.${key}`
    if (key !== 'metadata' && typeof value === 'object' && value !== null && !Array.isArray(value)) flatten(value as Record<string, unknown>, name, into)
    else into[name] = value
  }
  return into
}

/** Gives every row the same columns, in first-seen order, so the table lines up. */
function tableRows(events: Record<string, unknown>[]): Record<string, unknown>[] {
  const flat = events.map((event) => flatten(event))
  const columns: string[] = []
  for (const row of flat) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key)
  const order = [...TABLE_FIELDS.filter((name) => columns.includes(name)), ...columns.filter((name) => !TABLE_FIELDS.includes(name))]
  return flat.map((row) => Object.fromEntries(order.map((column) => [column, row[column] ?? ''])))
}

type PageSource = (cursor: string | undefined) => Promise<Page>

async function collect(fetchPage: PageSource, firstCursor: string | undefined, all: boolean): Promise<Page> {
  const events: Record<string, unknown>[] = []
  let cursor = firstCursor
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await fetchPage(cursor)
    events.push(...page.events)
    if (!all || page.next_cursor === null) return { events, next_cursor: page.next_cursor }
    cursor = page.next_cursor
  }
  throw new SiemError('SIEM_ERR_CLI_USAGE', `--all stopped after ${MAX_PAGES} pages; narrow the search`)
}

function remotePages(url: string, apiKey: string | undefined, body: Record<string, unknown>): PageSource {
  const endpoint = `${url.replace(/\/$/, '')}/v1/search`
  return async (cursor) => (await postJson(endpoint, cursor === undefined ? body : { ...body, cursor }, apiKey)) as Page
}

export async function runSearch(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, true)
  if (values.help === true) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const format = values.format as OutputFormat
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new SiemError('SIEM_ERR_CLI_USAGE', `--format must be one of ${OUTPUT_FORMATS.join(', ')}; got ${JSON.stringify(values.format)}`)
  }
  const body = searchBodyFromArgs(values, positionals, format)
  const all = values.all === true

  let result: Page
  if (values.url !== undefined) {
    result = await collect(remotePages(values.url, values['api-key'] ?? process.env['SIEM_API_KEY'], body), values.cursor, all)
  } else {
    const config = configFromArgs(values)
    const storage = await openStorage(config.storage)
    const limits = { timeoutMs: config.query.timeout, maxRows: config.query.max_rows }
    const tenant = values.tenant ?? DEFAULT_TENANT
    try {
      result = await collect(
        async (cursor) => {
          const request: SearchRequest = parseSearchBody({ ...body, tenant: undefined, ...(cursor === undefined ? {} : { cursor }) }, limits.maxRows)
          return searchStorage(storage.client, limits, tenant, request)
        },
        values.cursor,
        all,
      )
    } finally {
      await storage.close()
    }
  }

  process.stdout.write(formatRows(format === 'table' ? tableRows(result.events) : result.events, format))
  if (result.next_cursor !== null) process.stderr.write(`more events: repeat with --cursor ${result.next_cursor}\n`)
  return 0
}
