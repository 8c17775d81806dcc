import { createHash } from 'node:crypto'
import type { AuthConfig, Role } from '../config/types.js'
import { SiemError } from '../errors.js'

export interface Principal {
  /** Name of the API key, for logs; never the key itself. */
  keyName: string
  tenantId: string
  roles: ReadonlySet<Role>
}

const ALL_ROLES: ReadonlySet<Role> = new Set<Role>(['ingest', 'search', 'admin'])

/** Tenant of every request when no API keys are configured (loopback only). */
export const DEFAULT_TENANT = 'default'

/**
 * Resolves `X-API-Key` values to principals. Keys are configured as SHA-256
 * hashes, so the key itself is neither stored nor logged. With no keys
 * configured every request is the default tenant with every role; the
 * configuration refuses that outside loopback.
 */
export class ApiKeyAuth {
  readonly #byHash = new Map<string, Principal>()

  constructor(config: AuthConfig) {
    for (const key of config.api_keys) {
      this.#byHash.set(key.sha256.toLowerCase(), { keyName: key.name, tenantId: key.tenant, roles: new Set(key.roles) })
    }
  }

  get open(): boolean {
    return this.#byHash.size === 0
  }

  /** Returns the principal of a key whatever its roles, or throws a 401 SiemError. */
  identify(header: string | string[] | undefined): Principal {
    if (this.open) return { keyName: 'none', tenantId: DEFAULT_TENANT, roles: ALL_ROLES }
    const key = Array.isArray(header) ? header[0] : header
    if (key === undefined || key === '') {
      throw new SiemError('SIEM_ERR_AUTH_MISSING_KEY', 'missing X-API-Key header')
    }
    const principal = this.#byHash.get(createHash('sha256').update(key).digest('hex'))
    if (principal === undefined) {
      throw new SiemError('SIEM_ERR_AUTH_INVALID_KEY', 'the X-API-Key is not valid')
    }
    return principal
  }

  /** Returns the principal for a header value, or throws a 401 or 403 SiemError. */
  authenticate(header: string | string[] | undefined, role: Role): Principal {
    const principal = this.identify(header)
    if (!principal.roles.has(role) && !principal.roles.has('admin')) {
      throw new SiemError('SIEM_ERR_AUTH_FORBIDDEN', `API key ${principal.keyName} lacks the ${role} role`, {
        value: principal.keyName,
      })
    }
    return principal
  }
}

/** SHA-256 hex of an API key, the form `auth.api_keys[].sha256` takes. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}
