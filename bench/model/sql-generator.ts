import { SCHEMA_VERSION } from '../../src/schema/event.js'
import {
  DOCUMENTATION_BLOCKS,
  IP_POOL_SIZE,
  IP_SKEW,
  NAMED_USERS,
  PRODUCTS,
  TENANTS,
  USER_POOL_SIZE,
  USER_SKEW,
  flattenTemplates,
  parseTemplate,
  usesPlaceholder,
  type PlaceholderName,
  type TemplatePart,
} from './event-model.js'
import { cumulativeWeights } from './random.js'

/**
 * Renders the event model as one `INSERT INTO events … SELECT … FROM
 * numbers()` statement, so that millions of rows with the same
 * distributions as the HTTP load are made inside ClickHouse in seconds.
 * Every random draw is `sipHash64(number, salt)`, so a row depends only on
 * its number: the same range always yields the same rows, apart from the
 * event ids, which are random UUIDs.
 */

export interface DatasetSlice {
  /** First row number of this statement. */
  start: number
  count: number
  /** Newest event time in epoch milliseconds; events spread back over `spanMs`. */
  endMs: number
  spanMs: number
}

const EVENT_COLUMNS = [
  'event_id', 'tenant_id', 'timestamp', 'received_at', 'source_product', 'source_host', 'source_instance_id',
  'source_version', 'actor_type', 'actor_id', 'actor_name', 'actor_email', 'actor_ip', 'action', 'target',
  'outcome', 'severity', 'schema_version', 'raw', 'metadata',
] as const

export function sqlString(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

function sqlArray(values: readonly (string | number)[]): string {
  return `[${values.map((value) => (typeof value === 'number' ? String(value) : sqlString(value))).join(', ')}]`
}

/** Gives each random draw its own salt, so that no two draws of a row are correlated. */
class SaltCounter {
  #next = 100

  take(): number {
    return this.#next++
  }
}

const hash = (salt: number): string => `sipHash64(number, ${salt})`
const uniform = (salt: number): string => `(${hash(salt)} / 18446744073709551616.)`

/** Column aliases of the values the templates use; prefixed so they cannot shadow table columns. */
const VALUE_ALIAS: Record<PlaceholderName, string> = {
  time: 'v_time',
  clf_time: 'v_clf_time',
  host: 'v_host',
  pid: 'v_pid',
  user: 'v_user',
  ip: 'v_ip',
  port: 'v_port',
  rdns: 'v_rdns',
  num: 'v_num',
  octet: 'v_octet',
  hex: 'v_hex',
}

function renderParts(parts: readonly TemplatePart[], salts: SaltCounter): string {
  const pieces = parts.map((part) => {
    if (part.kind === 'text') return sqlString(part.text)
    if (part.kind === 'placeholder') return VALUE_ALIAS[part.name]
    return `${sqlArray(part.options)}[1 + ${hash(salts.take())} % ${part.options.length}]`
  })
  if (pieces.length === 1) return pieces[0] as string
  return `concat(${pieces.join(', ')})`
}

function caseOn(selector: string, branches: readonly string[]): string {
  if (branches.length === 1) return branches[0] as string
  const arms = branches.slice(0, -1).map((branch, index) => `${selector} = ${index + 1}, ${branch}`)
  return `multiIf(${arms.join(', ')}, ${branches[branches.length - 1]})`
}

function userExpression(): string {
  const index = `toUInt32(floor(pow(${uniform(4)}, ${USER_SKEW}) * ${USER_POOL_SIZE}))`
  const name = `if(v_user_index < ${NAMED_USERS.length}, ${sqlArray(NAMED_USERS)}[v_user_index + 1], concat('u', toString(v_user_index)))`
  return `${index} AS v_user_index, ${name}`
}

function ipExpression(): string {
  const documentationHosts = DOCUMENTATION_BLOCKS.length * 254
  const index = `toUInt32(floor(pow(${uniform(5)}, ${IP_SKEW}) * ${IP_POOL_SIZE}))`
  const rest = `(v_ip_index - ${documentationHosts})`
  const octet = (shift: number): string => `toString(bitAnd(bitShiftRight(${rest}, ${shift}), 255))`
  const documentation = `concat(${sqlArray(DOCUMENTATION_BLOCKS)}[intDiv(v_ip_index, 254) + 1], '.', toString(v_ip_index % 254 + 1))`
  const privateRange = `concat('10.', ${octet(16)}, '.', ${octet(8)}, '.', ${octet(0)})`
  return `${index} AS v_ip_index, if(v_ip_index < ${documentationHosts}, ${documentation}, ${privateRange})`
}

/** Renders the statement that inserts one slice of the query data set. */
export function datasetInsertSql(slice: DatasetSlice): string {
  const flat = flattenTemplates()
  const salts = new SaltCounter()
  const productIndex = flat.map((entry) => PRODUCTS.indexOf(entry.product) + 1)
  const templateCumulative = cumulativeWeights(flat.map((entry) => entry.share))
  const tenantCumulative = cumulativeWeights(TENANTS.map((tenant) => tenant.weight))

  const values = [
    `arrayFirstIndex(c -> ${uniform(1)} < c, ${sqlArray(templateCumulative)}) AS v_template`,
    `${sqlArray(productIndex)}[v_template] AS v_product`,
    `${sqlArray(TENANTS.map((tenant) => tenant.id))}[arrayFirstIndex(c -> ${uniform(2)} < c, ${sqlArray(tenantCumulative)})] AS v_tenant`,
    `fromUnixTimestamp64Micro(toInt64(${slice.endMs * 1000} - floor(${uniform(3)} * ${slice.spanMs * 1000})), 'UTC') AS v_ts`,
    // Syslog pads the day with a space; formatDateTime's %e does not in every version.
    `concat(formatDateTime(v_ts, '%b '), leftPad(toString(toDayOfMonth(v_ts)), 2, ' '), formatDateTime(v_ts, ' %H:%i:%S')) AS v_time`,
    `formatDateTime(v_ts, '%d/%b/%Y:%H:%i:%S +0000') AS v_clf_time`,
    `concat(${sqlArray(PRODUCTS.map((product) => product.hostPrefix))}[v_product], '-', leftPad(toString(1 + ${hash(6)} % ${sqlArray(PRODUCTS.map((product) => product.hostCount))}[v_product]), 2, '0')) AS v_host`,
    `toString(1000 + ${hash(7)} % 60000) AS v_pid`,
    `${userExpression()} AS v_user`,
    `${ipExpression()} AS v_ip`,
    `toString(1024 + ${hash(8)} % 64000) AS v_port`,
    `concat('rdns-', substring(lower(hex(${hash(9)})), 1, 6), '.example.net') AS v_rdns`,
    `toString(1 + ${hash(10)} % 65535) AS v_num`,
    `toString(${hash(11)} % 256) AS v_octet`,
    `substring(lower(hex(${hash(12)})), 1, 8) AS v_hex`,
  ]

  const actorId = flat.map((entry) => (entry.template.actor?.id === true ? 1 : 0))
  const actorFixed = flat.map((entry) => entry.template.actor?.fixedId ?? '')
  const actorIp = flat.map((entry) => (entry.template.actor?.ip === true ? 1 : 0))
  const actorType = flat.map((entry) => (entry.template.actor === undefined ? 'unknown' : 'user'))
  const hasPort = flat.map((entry) => (usesPlaceholder(entry.raw, 'port') ? 1 : 0))
  const idExpression = `if(${sqlArray(actorId)}[v_template] = 1, if(${sqlArray(actorFixed)}[v_template] != '', ${sqlArray(actorFixed)}[v_template], v_user), '')`

  const columns: Record<(typeof EVENT_COLUMNS)[number], string> = {
    event_id: 'generateUUIDv4(number)',
    tenant_id: 'v_tenant',
    timestamp: 'v_ts',
    received_at: `v_ts + toIntervalMillisecond(500 + ${hash(13)} % 2500)`,
    source_product: `${sqlArray(PRODUCTS.map((product) => product.product))}[v_product]`,
    source_host: 'v_host',
    source_instance_id: caseOn('v_product', PRODUCTS.map((product) => renderParts(parseTemplate(product.instance), salts))),
    source_version: `${sqlArray(PRODUCTS.map((product) => product.version))}[v_product]`,
    actor_type: `${sqlArray(actorType)}[v_template]`,
    actor_id: idExpression,
    actor_name: idExpression,
    actor_email: "''",
    actor_ip: `if(${sqlArray(actorIp)}[v_template] = 1, v_ip, '')`,
    action: `${sqlArray(flat.map((entry) => entry.template.action))}[v_template]`,
    target: caseOn('v_product', PRODUCTS.map((product) => renderParts(parseTemplate(product.target), salts))),
    outcome: `${sqlArray(flat.map((entry) => entry.template.outcome))}[v_template]`,
    severity: `toUInt8(${sqlArray(flat.map((entry) => entry.template.severity))}[v_template])`,
    schema_version: sqlString(SCHEMA_VERSION),
    raw: caseOn('v_template', flat.map((entry) => renderParts(parseTemplate(entry.raw), salts))),
    metadata: `if(${sqlArray(hasPort)}[v_template] = 1, concat('{"pid":', v_pid, ',"port":', v_port, '}'), concat('{"pid":', v_pid, '}'))`,
  }

  const select = EVENT_COLUMNS.map((name) => `    ${columns[name]} AS c_${name}`)
  return [
    `INSERT INTO events (${EVENT_COLUMNS.join(', ')})`,
    'SELECT',
    select.join(',\n'),
    'FROM (',
    '  SELECT',
    '    number,',
    values.map((value) => `    ${value}`).join(',\n'),
    `  FROM numbers(${slice.start}, ${slice.count})`,
    ')',
  ].join('\n')
}
