import { ACTOR_TYPES, OUTCOMES } from './event.js'

/** Pattern every action must match: dot-separated lowercase words, such as `auth.login`. */
export const ACTION_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$'

export const MAX_RAW_LENGTH = 65536

/** Fields the server sets itself; a value for them in the body is ignored. */
export const SERVER_FIELDS = ['schema_version', 'received_at', 'tenant_id'] as const

const boundedString = (maxLength: number): Record<string, unknown> => ({ type: 'string', maxLength })

const sourceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['product'],
  properties: {
    product: { type: 'string', minLength: 1, maxLength: 256 },
    host: boundedString(256),
    instance_id: boundedString(128),
    version: boundedString(64),
  },
}

const actorSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: [...ACTOR_TYPES] },
    id: boundedString(256),
    name: boundedString(256),
    email: { type: 'string', maxLength: 256, format: 'email' },
    ip_address: { type: 'string', format: 'ip' },
  },
}

const eventProperties = {
  event_id: { type: 'string', format: 'uuid' },
  timestamp: { type: 'string', maxLength: 64 },
  source: sourceSchema,
  action: { type: 'string', minLength: 1, maxLength: 256, pattern: ACTION_PATTERN },
  outcome: { type: 'string', enum: [...OUTCOMES] },
  severity: { type: 'integer', minimum: 1, maximum: 10 },
  actor: actorSchema,
  target: boundedString(1024),
  raw: boundedString(MAX_RAW_LENGTH),
  metadata: { type: 'object' },
  schema_version: {},
  received_at: {},
  tenant_id: {},
}

/** JSON schema of one input event; `strict` rejects unknown top-level fields. */
export function eventSchema(strict: boolean): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: !strict,
    required: ['timestamp', 'source', 'action'],
    properties: eventProperties,
  }
}

export const KNOWN_FIELDS = new Set(Object.keys(eventProperties))
