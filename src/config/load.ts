import { accessSync, constants, readFileSync } from 'node:fs'
import { isIPv4 } from 'node:net'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { SiemError } from '../errors.js'
import { DURATION_KEYS, SIZE_KEYS, configSchema } from './schema.js'
import type { Config } from './types.js'
import { parseDuration, parseSize } from './units.js'

type RawConfig = Record<string, unknown>

export interface LoadConfigOptions {
  /** Path of the YAML file; when absent, SIEM_CONFIG from `env`, else no file. */
  file?: string
  /** Environment to read overrides from; defaults to process.env. */
  env?: NodeJS.ProcessEnv
  /** Values applied over the file and the environment, in the file's shape (tests use this). */
  overrides?: RawConfig
}

/** Environment variables and the configuration key each one sets. */
export const ENV_OVERRIDES: Record<string, string> = {
  SIEM_HTTP_HOST: 'http.host',
  SIEM_HTTP_PORT: 'http.port',
  SIEM_DATA_DIR: 'storage.data_dir',
  SIEM_CLICKHOUSE_URL: 'storage.server.url',
  SIEM_CLICKHOUSE_USER: 'storage.server.username',
  SIEM_CLICKHOUSE_PASSWORD: 'storage.server.password',
  SIEM_CLICKHOUSE_DATABASE: 'storage.server.database',
  SIEM_STORAGE_MODE: 'storage.mode',
  SIEM_QUEUE_TYPE: 'queue.type',
  SIEM_ACK_MODE: 'ingest.ack_mode',
  SIEM_LOG_LEVEL: 'log.level',
  SIEM_CEF_UDP_PORT: 'cef.udp.port',
  SIEM_CEF_TCP_PORT: 'cef.tcp.port',
  SIEM_CEF_UDP_ENABLED: 'cef.udp.enabled',
  SIEM_CEF_TCP_ENABLED: 'cef.tcp.enabled',
  SIEM_FLUSH_INTERVAL: 'writer.flush_interval',
  SIEM_PREPARE_WORKERS: 'ingest.prepare_workers',
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true })
// An ajv format checks one JSON type, and a second addFormat under the same
// name replaces the first, so these check strings only; integer values are
// checked when the units are resolved after validation.
ajv.addFormat('duration', { type: 'string', validate: (v: string) => parseDuration(v) !== undefined })
ajv.addFormat('size', { type: 'string', validate: (v: string) => parseSize(v) !== undefined })
const validateConfig = ajv.compile(configSchema)

function isObject(value: unknown): value is RawConfig {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function setPath(target: RawConfig, path: string, value: unknown): void {
  const parts = path.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    const next = node[part]
    if (!isObject(next)) node[part] = {}
    node = node[part] as RawConfig
  }
  node[parts[parts.length - 1] as string] = value
}

function getPath(target: RawConfig, path: string): unknown {
  let node: unknown = target
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as RawConfig)[part]
  }
  return node
}

function mergeInto(target: RawConfig, source: RawConfig): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key]
    if (isObject(value) && isObject(existing)) mergeInto(existing, value)
    else target[key] = value
  }
}

/** JSON types the schema allows at a dotted path, such as ['string', 'integer']. */
function schemaTypesAt(path: string): string[] {
  let node: Record<string, unknown> | undefined = configSchema
  for (const part of path.split('.')) {
    const properties = node?.['properties'] as Record<string, Record<string, unknown>> | undefined
    node = properties?.[part]
  }
  const type = node?.['type']
  if (Array.isArray(type)) return type.map(String)
  return typeof type === 'string' ? [type] : []
}

/**
 * Converts an environment string to the JSON type the schema expects for
 * that key, so that a digit-only password or directory name stays text.
 */
function coerceEnvValue(path: string, value: string): unknown {
  const types = schemaTypesAt(path)
  if (types.includes('integer') && /^-?\d+$/.test(value)) return Number(value)
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true'
  return value
}

function readConfigFile(file: string): RawConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new SiemError('SIEM_ERR_CONFIG_FILE', `cannot read configuration file ${file}`, { value: file, cause: err })
  }
  let parsed: unknown
  try {
    parsed = parseYaml(text)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new SiemError('SIEM_ERR_CONFIG_FILE', `invalid YAML in ${file}: ${reason}`, { value: file, cause: err })
  }
  if (parsed === null || parsed === undefined) return {}
  if (!isObject(parsed)) {
    throw new SiemError('SIEM_ERR_CONFIG_FILE', `configuration file ${file} must contain a mapping at the top level`, {
      value: file,
    })
  }
  return parsed
}

function describeAjvError(error: ErrorObject, raw: RawConfig): string {
  const path = error.instancePath.slice(1).replaceAll('/', '.')
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty)
    const key = path === '' ? extra : `${path}.${extra}`
    return `unknown key ${key}`
  }
  const value = JSON.stringify(getPath(raw, path))
  return `${path || '(root)'}=${value}: ${error.message ?? 'is invalid'}`
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1'])

/** True for localhost, ::1 and any 127.0.0.0/8 address (not for names that merely start with 127.). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || (isIPv4(host) && host.startsWith('127.'))
}

/** Returns why a file cannot be read, or undefined when it can. */
function unreadableFile(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK)
    return undefined
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? 'unknown error'})`
  }
}

function checkConsistency(config: Config): string[] {
  const problems: string[] = []
  const noKeys = config.auth.api_keys.length === 0
  if (noKeys && !isLoopbackHost(config.http.host)) {
    problems.push(
      `http.host=${JSON.stringify(config.http.host)}: binding beyond loopback needs auth.api_keys; ` +
        'configure at least one key or bind to 127.0.0.1',
    )
  }
  const tlsSections: Array<[string, { enabled: boolean; cert_path: string; key_path: string }]> = [
    ['http.tls', config.http.tls],
    ['cef.tcp.tls', config.cef.tcp.tls],
  ]
  for (const [name, tls] of tlsSections) {
    if (!tls.enabled) continue
    if (tls.cert_path === '' || tls.key_path === '') {
      problems.push(`${name}.enabled=true: ${name}.cert_path and ${name}.key_path are required`)
      continue
    }
    for (const [key, path] of [['cert_path', tls.cert_path], ['key_path', tls.key_path]] as const) {
      const problem = unreadableFile(path)
      if (problem !== undefined) problems.push(`${name}.${key}=${JSON.stringify(path)}: ${problem}`)
    }
  }
  const caPath = config.storage.server.ca_path
  if (config.storage.mode === 'server' && caPath !== '') {
    const problem = unreadableFile(caPath)
    if (problem !== undefined) problems.push(`storage.server.ca_path=${JSON.stringify(caPath)}: ${problem}`)
  }
  const keyNames = new Map<string, string>()
  for (const [index, key] of config.auth.api_keys.entries()) {
    const hash = key.sha256.toLowerCase()
    const first = keyNames.get(hash)
    if (first !== undefined) {
      problems.push(`auth.api_keys[${index}] (${key.name}) has the same sha256 as ${first}; every key needs its own secret`)
    }
    keyNames.set(hash, key.name)
  }
  return problems
}

/** Replaces the value at `key` with its parsed number, or records a problem naming the key and value. */
function resolveUnit(raw: RawConfig, key: string, parse: (value: unknown) => number | undefined, expected: string, problems: string[]): void {
  const value = getPath(raw, key)
  const parsed = parse(value)
  if (parsed === undefined) problems.push(`${key}=${JSON.stringify(value)}: must be ${expected}`)
  else setPath(raw, key, parsed)
}

/**
 * Loads the configuration: the YAML file, then environment overrides, then
 * `overrides`; validates it against the schema, fills defaults and resolves
 * durations to milliseconds and sizes to bytes. Throws SIEM_ERR_CONFIG_INVALID
 * listing every problem with its key and value.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env
  const file = options.file ?? env['SIEM_CONFIG']
  const raw: RawConfig = file === undefined || file === '' ? {} : readConfigFile(file)

  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name]
    if (value !== undefined && value !== '') setPath(raw, path, coerceEnvValue(path, value))
  }
  if (env['SIEM_CLICKHOUSE_URL'] && !env['SIEM_STORAGE_MODE']) setPath(raw, 'storage.mode', 'server')
  if (options.overrides !== undefined) mergeInto(raw, structuredClone(options.overrides))

  const original = structuredClone(raw)
  if (!validateConfig(raw)) {
    const problems = (validateConfig.errors ?? []).map((e) => describeAjvError(e, original))
    throw new SiemError('SIEM_ERR_CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
      value: problems,
    })
  }
  const unitProblems: string[] = []
  for (const key of DURATION_KEYS) resolveUnit(raw, key, parseDuration, 'a duration such as 500ms, 5s, 10m or integer milliseconds', unitProblems)
  for (const key of SIZE_KEYS) resolveUnit(raw, key, parseSize, 'a size such as 64KiB, 10MiB or integer bytes', unitProblems)
  if (unitProblems.length > 0) {
    throw new SiemError('SIEM_ERR_CONFIG_INVALID', `invalid configuration: ${unitProblems.join('; ')}`, {
      value: unitProblems,
    })
  }

  const config = raw as unknown as Config
  const problems = checkConsistency(config)
  if (problems.length > 0) {
    throw new SiemError('SIEM_ERR_CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
      value: problems,
    })
  }
  return config
}
