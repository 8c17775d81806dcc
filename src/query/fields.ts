import { SiemError } from '../errors.js'
import { ACTOR_TYPES, OUTCOMES } from '../schema/event.js'

/** How a field's values are typed, bound and compared. */
export type FieldKind = 'string' | 'enum' | 'number' | 'time' | 'uuid'

/** One canonical field a query may name, with the `events` column behind it. */
export interface FieldSpec {
  /** Dotted canonical name, such as `actor.ip_address`. */
  name: string
  column: string
  kind: FieldKind
  /** Allowed values of an enum field. */
  values?: readonly string[]
  /** True when `events_hourly` has the same column, so filters and groups on it can read the rollup. */
  inRollup?: boolean
  /** Nothing a query can group by or filter on (only project). */
  projectOnly?: boolean
}

/**
 * The whitelist of canonical fields. A field name in a request is only ever
 * looked up here, so no user text reaches SQL as an identifier.
 */
const FIELD_LIST: readonly FieldSpec[] = [
  { name: 'event_id', column: 'event_id', kind: 'uuid' },
  { name: 'timestamp', column: 'timestamp', kind: 'time' },
  { name: 'received_at', column: 'received_at', kind: 'time' },
  { name: 'source.product', column: 'source_product', kind: 'string', inRollup: true },
  { name: 'source.host', column: 'source_host', kind: 'string' },
  { name: 'source.instance_id', column: 'source_instance_id', kind: 'string' },
  { name: 'source.version', column: 'source_version', kind: 'string' },
  { name: 'actor.type', column: 'actor_type', kind: 'enum', values: ACTOR_TYPES },
  { name: 'actor.id', column: 'actor_id', kind: 'string' },
  { name: 'actor.name', column: 'actor_name', kind: 'string' },
  { name: 'actor.email', column: 'actor_email', kind: 'string' },
  { name: 'actor.ip_address', column: 'actor_ip', kind: 'string' },
  { name: 'action', column: 'action', kind: 'string', inRollup: true },
  { name: 'target', column: 'target', kind: 'string' },
  { name: 'outcome', column: 'outcome', kind: 'enum', values: OUTCOMES, inRollup: true },
  { name: 'severity', column: 'severity', kind: 'number' },
  { name: 'schema_version', column: 'schema_version', kind: 'string' },
  { name: 'raw', column: 'raw', kind: 'string' },
  { name: 'metadata', column: 'metadata', kind: 'string', projectOnly: true },
]

export const FIELDS: ReadonlyMap<string, FieldSpec> = new Map(FIELD_LIST.map((field) => [field.name, field]))

export const METADATA_PREFIX = 'metadata.'

/** Most levels of a `metadata.a.b.c` path. */
const MAX_METADATA_DEPTH = 8
const MAX_KEY_LENGTH = 256

/** A field reference resolved against the whitelist: a column, or a key path inside `metadata`. */
export type FieldRef = { type: 'column'; spec: FieldSpec } | { type: 'metadata'; name: string; path: string[] }

/** Lists the names a request may use, for error messages. */
export function fieldNames(): string {
  return [...FIELDS.keys()].filter((name) => name !== 'metadata').join(', ') + ', metadata.<key>'
}

/**
 * Resolves a field name from a request. `metadata.<key>` paths split on dots;
 * the key text itself is bound as a query parameter, never written into SQL.
 */
export function resolveField(name: unknown, where: string): FieldRef {
  if (typeof name !== 'string' || name === '') {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `${where} must be a field name such as "action"`, { value: name })
  }
  if (name.startsWith(METADATA_PREFIX)) {
    const path = name.slice(METADATA_PREFIX.length).split('.')
    const valid = path.length <= MAX_METADATA_DEPTH && path.every((key) => key !== '' && key.length <= MAX_KEY_LENGTH && !/[\u0000-\u001f]/.test(key))
    if (!valid) {
      throw new SiemError(
        'SIEM_ERR_QUERY_INVALID',
        `${where} ${JSON.stringify(name.slice(0, 100))} is not a valid metadata path; use metadata.<key> with up to ${MAX_METADATA_DEPTH} dot-separated keys`,
        { value: name.slice(0, 100) },
      )
    }
    return { type: 'metadata', name, path }
  }
  const spec = FIELDS.get(name)
  if (spec === undefined || spec.projectOnly === true) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `${where} ${JSON.stringify(name.slice(0, 100))} is not a known field; use one of ${fieldNames()}`, {
      value: name.slice(0, 100),
    })
  }
  return { type: 'column', spec }
}
