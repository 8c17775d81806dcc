import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify'
import type { HttpConfig } from '../config/types.js'
import { SiemError } from '../errors.js'
import type { Logger } from '../logger.js'
import { sendError } from './error-reply.js'
import { LogThrottle } from './log-throttle.js'

export interface HttpServerOptions {
  config: HttpConfig
  logger: Logger
  /** Largest request body accepted before decompression, in bytes. */
  bodyLimit: number
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Maps errors that fastify itself raises to catalogue errors with the same status. */
function toSiemError(err: FastifyError): SiemError {
  if (err instanceof SiemError) return err
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SiemError('SIEM_ERR_INGEST_PAYLOAD_TOO_LARGE', 'the request body is larger than ingest.max_payload_size', { cause: err })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SiemError('SIEM_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', err.message, { cause: err })
    default:
      break
  }
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) return new SiemError('SIEM_ERR_HTTP_BAD_REQUEST', err.message, { cause: err })
  return new SiemError('SIEM_ERR_INTERNAL', 'internal error; see the server log for this request_id', { cause: err })
}

/**
 * Creates the fastify instance every HTTP route shares: request ids
 * (an incoming X-Request-Id when it is a plain token, else a new UUID) on
 * every response and log line, bodies read as raw buffers so that each route
 * decodes them itself, and one error format.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { config, logger } = options
  // A client that sends headers and then trickles its body would otherwise hold
  // memory and a socket forever. Node checks these limits on an interval fixed
  // when the server is created, so they go into the server's own options.
  const socketLimits = {
    requestTimeout: config.request_timeout,
    headersTimeout: Math.min(60_000, config.request_timeout),
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(config.request_timeout / 4))),
  }
  const transport = config.tls.enabled
    ? {
        https: {
          cert: readFileSync(config.tls.cert_path),
          key: readFileSync(config.tls.key_path),
          minVersion: 'TLSv1.2' as const,
          ...socketLimits,
        },
      }
    : { http: socketLimits }
  const app = Fastify({
    loggerInstance: logger.child({ listener: 'http' }),
    // Requests are logged by the onResponse hook below, with the fields this project uses.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    genReqId: (request) => {
      const incoming = request.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    bodyLimit: options.bodyLimit,
    requestTimeout: config.request_timeout,
    ...transport,
  }) as unknown as FastifyInstance

  app.server.maxConnections = config.max_connections
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  // A connection whose request was under way when close() began would stay
  // open, idle, until the keep-alive timeout (72 s in fastify), and hold up
  // the shutdown that long, so responses sent from then on close it.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (closing) reply.header('connection', 'close')
  })
  // Errors are logged once, by the error handler or by the route that sent
  // the response, so this line only records the request.
  app.addHook('onResponse', async (request, reply) => {
    const fields = { method: request.method, url: request.url, status: reply.statusCode, duration_ms: Math.round(reply.elapsedTime) }
    request.log.debug(fields, 'request done')
  })

  const backpressureLog = new LogThrottle(1000)
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const siemError = toSiemError(err)
    if (siemError.retryAfterSeconds !== undefined) {
      // A full queue or spool rejects every request the same way while it lasts.
      backpressureLog.warn(request.log, siemError.code, { error_code: siemError.code, status: siemError.statusCode }, siemError.message)
    } else if (siemError.statusCode >= 500) {
      request.log.error({ err, error_code: siemError.code, url: request.url }, 'request failed')
    } else {
      request.log.info({ error_code: siemError.code, err_message: siemError.message, url: request.url }, 'request rejected')
    }
    return sendError(request, reply, siemError)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new SiemError('SIEM_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  )
  return app
}
