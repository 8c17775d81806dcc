import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SiemError } from '../errors.js'
import { isLoopbackHost } from '../config/load.js'
import type { ApiKeyAuth } from './auth.js'

/** Body types the API reads: JSON everywhere, NDJSON on the ingest route. */
const BODY_TYPES = /^application\/(json|x-ndjson|ndjson|jsonl|jsonlines|[a-z0-9.+-]+\+json)\s*(;|$)/i

function hostnameOf(value: string): string {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return ''
  }
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
}

/**
 * Checks every request before its body is read:
 * - with no API keys configured (loopback only), the Host and any Origin must
 *   name a loopback address, so a web page cannot reach the API through DNS
 *   rebinding or a cross-site request;
 * - with keys, a request under /v1/ must carry a valid key before the server
 *   reads a body of up to ingest.max_payload_size for it;
 * - a request body under /v1/ must be JSON or NDJSON, which a browser cannot
 *   send cross-site without a CORS preflight this server never grants.
 * Role checks stay with each route.
 */
export function registerRequestGuards(app: FastifyInstance, auth: ApiKeyAuth): void {
  app.addHook('onRequest', async (request) => {
    if (auth.open) {
      const host = request.headers.host ?? ''
      if (!isLoopbackHost(hostnameOf(host))) {
        throw new SiemError(
          'SIEM_ERR_AUTH_FORBIDDEN',
          `Host ${JSON.stringify(host.slice(0, 100))} is not a loopback address; without API keys the server answers only requests to 127.0.0.1, ::1 or localhost`,
          { value: host.slice(0, 100) },
        )
      }
      const origin = request.headers.origin
      if (origin !== undefined && origin !== 'null' && !isLoopbackHost(hostnameOf(origin))) {
        throw new SiemError('SIEM_ERR_AUTH_FORBIDDEN', `cross-origin request from ${origin.slice(0, 100)} rejected; without API keys only loopback origins are allowed`, {
          value: origin.slice(0, 100),
        })
      }
      if (origin === 'null') throw new SiemError('SIEM_ERR_AUTH_FORBIDDEN', 'request from an opaque origin (Origin: null) rejected')
    }
    if (!request.url.startsWith('/v1/')) return
    if (!auth.open) auth.identify(request.headers['x-api-key'])
    if (hasBody(request) && !BODY_TYPES.test(request.headers['content-type'] ?? '')) {
      throw new SiemError(
        'SIEM_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE',
        `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? null)}; send application/json (or application/x-ndjson to /v1/events)`,
        { value: request.headers['content-type'] ?? null },
      )
    }
  })
}
