import { SiemError } from '../errors.js'
import { setOwnProperty } from '../schema/own-property.js'
import { formatRfc3339Micros, parseClickHouseTime } from '../schema/timestamp.js'
import { FIELDS, METADATA_PREFIX, resolveField } from './fields.js'

/** A row of `events` as JSONEachRow returns it: column name to value. */
export type EventColumns = Record<string, unknown>

/** Column names of the canonical shape, in output order. */
const ALL_FIELDS = [...FIELDS.keys()]

/** Groups a projection may name as a whole. */
const GROUPS: Record<string, string[]> = {
  source: ALL_FIELDS.filter((name) => name.startsWith('source.')),
  actor: ALL_FIELDS.filter((name) => name.startsWith('actor.')),
}

/** Fields a response always carries, because paging needs them. */
const ALWAYS = ['event_id', 'timestamp']

/** Optional string fields that are left out of a response when empty, as they were absent on input. */
const OMIT_WHEN_EMPTY = new Set([
  'source.host',
  'source.instance_id',
  'source.version',
  'actor.id',
  'actor.name',
  'actor.email',
  'actor.ip_address',
  'target',
])

export const MAX_PROJECTION_FIELDS = 64

/** The parts of an event a response carries: whole fields, and the metadata keys when only some are requested. */
export interface Projection {
  fields: string[]
  /** Metadata paths to keep; undefined keeps the whole metadata object. */
  metadataPaths: string[][] | undefined
}

/** Reads `fields` of a request: canonical names, `source`, `actor`, `metadata` or `metadata.<key>`. */
export function parseProjection(value: unknown): Projection {
  if (value === undefined || value === null) return { fields: ALL_FIELDS, metadataPaths: undefined }
  const list = typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item !== '') : value
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PROJECTION_FIELDS) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `fields must be a list of 1 to ${MAX_PROJECTION_FIELDS} field names`, { value })
  }
  const fields = new Set(ALWAYS)
  const metadataPaths: string[][] = []
  let wholeMetadata = false
  for (const [index, name] of list.entries()) {
    if (typeof name === 'string' && GROUPS[name] !== undefined) {
      for (const member of GROUPS[name] as string[]) fields.add(member)
    } else if (name === 'metadata') {
      wholeMetadata = true
    } else if (typeof name === 'string' && name.startsWith(METADATA_PREFIX)) {
      const ref = resolveField(name, `fields[${index}]`)
      if (ref.type === 'metadata') metadataPaths.push(ref.path)
    } else {
      const ref = resolveField(name, `fields[${index}]`)
      if (ref.type === 'column') fields.add(ref.spec.name)
    }
  }
  if (wholeMetadata || metadataPaths.length > 0) fields.add('metadata')
  const ordered = ALL_FIELDS.filter((name) => fields.has(name))
  return { fields: ordered, metadataPaths: wholeMetadata || metadataPaths.length === 0 ? undefined : metadataPaths }
}

/** Lists the `events` columns a projection needs. */
export function projectionColumns(projection: Projection): string[] {
  return projection.fields.map((name) => (FIELDS.get(name) as { column: string }).column)
}

function timeText(value: unknown): unknown {
  if (typeof value !== 'string') return value
  const micros = parseClickHouseTime(value)
  return micros === undefined ? value : formatRfc3339Micros(micros)
}

function parseMetadata(value: unknown): Record<string, unknown> {
  if (typeof value !== 'string' || value === '') return {}
  try {
    const parsed: unknown = JSON.parse(value)
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/**
 * Returns the value of `key` in a JSON object, or undefined. Inherited names
 * such as `constructor`, and arrays with their `length`, are not metadata keys.
 */
function ownValue(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined
  return (value as Record<string, unknown>)[key]
}

function pickPaths(metadata: Record<string, unknown>, paths: string[][]): Record<string, unknown> {
  const picked: Record<string, unknown> = {}
  for (const path of paths) {
    let source: unknown = metadata
    for (const key of path) source = ownValue(source, key)
    if (source === undefined) continue
    let target = picked
    for (const key of path.slice(0, -1)) {
      let next = ownValue(target, key)
      if (typeof next !== 'object' || next === null) {
        next = {}
        setOwnProperty(target, key, next)
      }
      target = next as Record<string, unknown>
    }
    setOwnProperty(target, path[path.length - 1] as string, source)
  }
  return picked
}

function setPath(target: Record<string, unknown>, name: string, value: unknown): void {
  const dot = name.indexOf('.')
  if (dot === -1) {
    target[name] = value
    return
  }
  const group = name.slice(0, dot)
  const existing = target[group]
  const nested = typeof existing === 'object' && existing !== null ? (existing as Record<string, unknown>) : (target[group] = {})
  ;(nested as Record<string, unknown>)[name.slice(dot + 1)] = value
}

/**
 * Turns an `events` row into the canonical nested event (source and actor
 * as objects, metadata parsed, times as RFC 3339 with microseconds), with only
 * the projected fields.
 */
export function toCanonicalEvent(row: EventColumns, projection: Projection): Record<string, unknown> {
  const event: Record<string, unknown> = {}
  for (const name of projection.fields) {
    const spec = FIELDS.get(name)
    if (spec === undefined) continue
    let value = row[spec.column]
    if (OMIT_WHEN_EMPTY.has(name) && value === '') continue
    if (spec.kind === 'time') value = timeText(value)
    else if (name === 'severity') value = Number(value)
    else if (name === 'metadata') {
      const metadata = parseMetadata(value)
      value = projection.metadataPaths === undefined ? metadata : pickPaths(metadata, projection.metadataPaths)
    }
    setPath(event, name, value)
  }
  // The validator stores an absent actor as type unknown with empty fields; show it absent again.
  const actor = event['actor'] as Record<string, unknown> | undefined
  if (actor !== undefined && actor['type'] === 'unknown' && Object.keys(actor).length === 1) delete event['actor']
  return event
}
