import type { FastifyReply, FastifyRequest } from 'fastify'
import { SiemError } from '../errors.js'

export interface ErrorBody {
  request_id: string
  error: { code: string; message: string; value?: unknown }
  [extra: string]: unknown
}

/** Sends a SiemError as JSON with its HTTP status and, when set, Retry-After. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: SiemError, extra: Record<string, unknown> = {}): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
  const body: ErrorBody = {
    request_id: request.id,
    error: { code: err.code, message: err.message, ...(err.value === undefined ? {} : { value: err.value }) },
    ...extra,
  }
  return reply.code(err.statusCode).send(body)
}
