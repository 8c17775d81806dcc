import type { FastifyRequest } from 'fastify'
import type { Role } from '../config/types.js'
import { SiemError } from '../errors.js'
import type { ApiKeyAuth, Principal } from '../http/auth.js'
import type { KeyRateLimiter } from './rate-limit.js'

/** Tenant names as `auth.api_keys[].tenant` allows them; anything else is rejected before it reaches a query. */
const TENANT = /^[A-Za-z0-9_.-]{1,128}$/

/** Authenticates a query request and takes one request from the key's rate limit. */
export function authenticateQuery(request: FastifyRequest, auth: ApiKeyAuth, limiter: KeyRateLimiter, role: Role = 'search'): Principal {
  const principal = auth.authenticate(request.headers['x-api-key'], role)
  limiter.take(principal.keyName)
  return principal
}

/**
 * Picks the tenant every query of a request is limited to: the key's own,
 * or for an admin key the tenant the request names. A non-admin key that
 * names another tenant gets 403.
 */
export function tenantFor(principal: Principal, requested: string | undefined): string {
  if (requested === undefined || requested === principal.tenantId) return principal.tenantId
  if (!TENANT.test(requested)) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `tenant ${JSON.stringify(requested.slice(0, 64))} is not a valid tenant name`, {
      value: requested.slice(0, 64),
    })
  }
  if (!principal.roles.has('admin')) {
    throw new SiemError('SIEM_ERR_AUTH_FORBIDDEN', `API key ${principal.keyName} may only query its own tenant; only admin keys may name another`, {
      value: requested,
    })
  }
  return requested
}
