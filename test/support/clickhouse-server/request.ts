import type { IncomingHttpHeaders } from 'node:http'
import { ServerException } from './exception.js'
import { multipartBoundary, parseMultipart } from './multipart.js'
import { MAX_SESSION_TIMEOUT_SECONDS, type SessionRequest } from './sessions.js'

/** The credentials a request carries, from whichever place it put them. */
export interface Credentials {
  user: string
  password: string
}

/** What the URL, headers and body of one query request ask for. */
export interface QueryRequest {
  /** The `query` URL parameter (or multipart part); undefined when the body is the query. */
  queryParameter: string | undefined
  /** Request body after Content-Encoding; empty for a multipart body. */
  body: Buffer
  credentials: Credentials
  database: string | undefined
  defaultFormat: string | undefined
  queryId: string | undefined
  session: SessionRequest | undefined
  settings: Map<string, string>
  params: Map<string, string>
}

/** Default of `session_timeout`, in seconds. */
const DEFAULT_SESSION_TIMEOUT_SECONDS = 60

// URL parameters the HTTP interface reads itself; every other one is a setting.
const ACCEPTED_HTTP_PARAMETERS = new Set([
  'wait_end_of_query',
  'buffer_size',
  'stacktrace',
  'client_protocol_version',
  'quota_key',
  'close_session',
])

/**
 * Reads one query request the way the HTTP interface does: `query`,
 * `database`, `default_format`, `query_id`, session and credential
 * parameters from the URL, `param_<name>` as query parameters, every other
 * URL parameter as a setting, and the same values from `X-ClickHouse-*`
 * headers. A `multipart/form-data` body carries `query` and `param_*` parts.
 *
 * @throws ServerException for parameters the test server does not support
 *   (`role`, ClickHouse's own `compress`/`decompress`) or an invalid session timeout.
 */
export function parseQueryRequest(url: URL, headers: IncomingHttpHeaders, decodedBody: Buffer): QueryRequest {
  const request: QueryRequest = {
    queryParameter: undefined,
    body: decodedBody,
    credentials: readCredentials(url, headers),
    database: header(headers, 'x-clickhouse-database'),
    defaultFormat: header(headers, 'x-clickhouse-format'),
    queryId: undefined,
    session: undefined,
    settings: new Map(),
    params: new Map(),
  }
  const sessionParameters = new Map<string, string>()
  for (const [name, value] of url.searchParams) {
    readUrlParameter(request, sessionParameters, name, value)
  }
  const boundary = multipartBoundary(header(headers, 'content-type'))
  if (boundary !== undefined) readMultipart(request, parseMultipart(decodedBody, boundary))
  request.session = readSession(sessionParameters)
  return request
}

function readUrlParameter(
  request: QueryRequest,
  sessionParameters: Map<string, string>,
  name: string,
  value: string,
): void {
  if (name === 'query') request.queryParameter = value
  else if (name === 'database') request.database = value
  else if (name === 'default_format') request.defaultFormat = value
  else if (name === 'query_id') request.queryId = value
  else if (name.startsWith('session_')) sessionParameters.set(name, value)
  else if (name === 'user' || name === 'password') return
  else if (name.startsWith('param_')) request.params.set(name.slice('param_'.length), value)
  else if (name === 'role') throw unsupported('the role parameter')
  else if ((name === 'compress' || name === 'decompress') && value === '1') {
    throw unsupported(`${name}=1 (ClickHouse's own compression format); use Content-Encoding`)
  } else if (name === 'compress' || name === 'decompress' || ACCEPTED_HTTP_PARAMETERS.has(name)) return
  else request.settings.set(name, value)
}

function readMultipart(request: QueryRequest, parts: ReturnType<typeof parseMultipart>): void {
  request.body = Buffer.alloc(0)
  for (const part of parts) {
    if (part.name === 'query') request.queryParameter = part.value.toString('utf8')
    else if (part.name.startsWith('param_')) request.params.set(part.name.slice('param_'.length), part.value.toString('utf8'))
    else throw unsupported(`external table data in multipart part '${part.name}'`)
  }
}

function readSession(parameters: Map<string, string>): SessionRequest | undefined {
  const id = parameters.get('session_id')
  if (id === undefined || id === '') return undefined
  const timeoutText = parameters.get('session_timeout')
  const timeoutSeconds = timeoutText === undefined ? DEFAULT_SESSION_TIMEOUT_SECONDS : Number(timeoutText)
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > MAX_SESSION_TIMEOUT_SECONDS) {
    throw new ServerException(
      374,
      'INVALID_SESSION_TIMEOUT',
      `Session timeout '${timeoutText}' is out of range (0..${MAX_SESSION_TIMEOUT_SECONDS})`,
    )
  }
  return { id, timeoutSeconds, check: parameters.get('session_check') === '1' }
}

/**
 * Takes the user and password from Basic authentication, `X-ClickHouse-User`
 * and `X-ClickHouse-Key`, or the `user` and `password` URL parameters.
 * Without any of them, the user is `default` with an empty password.
 *
 * @throws ServerException AUTHENTICATION_FAILED when a request mixes the
 *   Authorization header with another way, as the server rejects that.
 */
function readCredentials(url: URL, headers: IncomingHttpHeaders): Credentials {
  const authorization = header(headers, 'authorization')
  const headerUser = header(headers, 'x-clickhouse-user')
  const urlUser = url.searchParams.get('user') ?? undefined
  if (authorization !== undefined) {
    if (headerUser !== undefined || urlUser !== undefined) {
      throw new ServerException(
        516,
        'AUTHENTICATION_FAILED',
        'Invalid authentication: it is not allowed to use Authorization HTTP header and authentication via parameters simultaneously',
      )
    }
    return basicCredentials(authorization)
  }
  if (headerUser !== undefined) {
    return { user: headerUser, password: header(headers, 'x-clickhouse-key') ?? '' }
  }
  return { user: urlUser ?? 'default', password: url.searchParams.get('password') ?? '' }
}

function basicCredentials(authorization: string): Credentials {
  const match = /^Basic\s+(\S+)$/i.exec(authorization.trim())
  if (match?.[1] === undefined) {
    throw new ServerException(516, 'AUTHENTICATION_FAILED', 'Invalid authentication: only Basic authentication is supported')
  }
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return { user: decoded, password: '' }
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function unsupported(feature: string): ServerException {
  return new ServerException(48, 'NOT_IMPLEMENTED', `The test ClickHouse server does not support ${feature}`)
}
