import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IngestConfig } from '../../config/types.js'
import { SiemError } from '../../errors.js'
import type { ApiKeyAuth } from '../../http/auth.js'
import { sendError } from '../../http/error-reply.js'
import { ACK_MODES, type AckMode } from '../../queue/types.js'
import type { FieldError } from '../../schema/event.js'
import type { IngestPipeline } from '../pipeline.js'
import type { IngestContext, IngestResult, Ingestor } from '../types.js'
import { bodyFormatOf } from './body.js'
import type { BodyPreparer } from './body-preparer.js'
import type { BodyOutcome } from './prepare-body.js'

export interface EventsRouteOptions {
  config: IngestConfig
  auth: ApiKeyAuth
  pipeline: IngestPipeline
  preparer: BodyPreparer
}

/** Reads the acknowledgement mode from `?ack=` or the X-SIEM-Ack header, else the configured default. */
function ackModeOf(request: FastifyRequest, fallback: AckMode): AckMode {
  const query = request.query as Record<string, unknown> | undefined
  const value = query?.['ack'] ?? request.headers['x-siem-ack']
  if (value === undefined) return fallback
  if (typeof value === 'string' && (ACK_MODES as readonly string[]).includes(value)) return value as AckMode
  throw new SiemError('SIEM_ERR_INGEST_INVALID_ACK_MODE', `invalid ack mode ${JSON.stringify(value)}; use one of ${ACK_MODES.join(', ')}`, {
    value,
  })
}

function statusOf(result: IngestResult, total: number): number {
  const stored = result.accepted + result.duplicates
  if (stored === total) return 200
  return stored > 0 ? 207 : 400
}

/**
 * POST /v1/events: a JSON body `{"events": [...]}` or NDJSON, optionally
 * gzip-compressed. Answers 200 when every event was accepted, 207 when some
 * were, 400 when none were or the body is unreadable (the body is then
 * quarantined whole), and the queue's 429 or 503 with Retry-After when it is full.
 */
export function registerEventsRoute(app: FastifyInstance, options: EventsRouteOptions): void {
  const { config, auth, pipeline, preparer } = options

  app.post('/v1/events', async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = auth.authenticate(request.headers['x-api-key'], 'ingest')
    const context: IngestContext = {
      tenantId: principal.tenantId,
      sourceIp: request.ip,
      sourceFormat: 'json',
      requestId: request.id,
      ack: ackModeOf(request, config.ack_mode),
      listener: 'http',
    }
    const format = bodyFormatOf(request.headers['content-type'])
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)

    const outcome = await preparer.prepare({
      body,
      contentEncoding: request.headers['content-encoding'],
      format,
      context: pipeline.prepareContext(context),
    })
    if (outcome.kind === 'rejected') throw new SiemError(outcome.code, outcome.message, { value: outcome.value })
    if (outcome.kind === 'malformed') return quarantineBody(request, reply, pipeline, context, outcome)

    const result = await pipeline.ingestPrepared(outcome.events, context)
    const status = statusOf(result, outcome.events.length)
    request.log.info(
      { accepted: result.accepted, quarantined: result.quarantined, duplicates: result.duplicates, tenant_id: context.tenantId, ack: context.ack },
      'events ingested',
    )
    return reply.code(status).send({
      request_id: request.id,
      accepted: result.accepted,
      quarantined: result.quarantined,
      duplicates: result.duplicates,
      event_ids: result.eventIds,
      ...(result.errors.length > 0 ? { errors: result.errors } : {}),
    })
  })
}

/** Quarantines a malformed body whole and replies 400 with the reason. */
async function quarantineBody(
  request: FastifyRequest,
  reply: FastifyReply,
  ingestor: Ingestor,
  context: IngestContext,
  malformed: Extract<BodyOutcome, { kind: 'malformed' }>,
): Promise<FastifyReply> {
  const fieldError: FieldError = { field: '(body)', code: malformed.errorCode, message: malformed.message }
  await ingestor.ingest([{ kind: 'unparsable', rawText: malformed.rawText, errorCode: malformed.errorCode, errors: [fieldError] }], context)
  request.log.info({ error_code: malformed.errorCode, tenant_id: context.tenantId }, 'malformed body quarantined')
  const err = new SiemError('SIEM_ERR_INGEST_MALFORMED_BODY', malformed.message)
  return sendError(request, reply, err, { quarantined: 1, errors: [{ index: 0, ...fieldError }] })
}
