import { SiemError, type ErrorCode } from '../../errors.js'
import type { EventValidator } from '../../schema/validate.js'
import { prepareCandidates, type PrepareContext, type PreparedEvent } from '../prepare.js'
import { MalformedBody, bodyText, decodeBody, parseCandidates, type BodyFormat } from './body.js'

/** One POST /v1/events body with what reading it needs to know. */
export interface BodyInput {
  body: Uint8Array
  contentEncoding: string | undefined
  format: BodyFormat
  context: PrepareContext
}

/** The ingest limits that apply to a body. */
export interface BodyLimits {
  /** ingest.max_payload_size, in bytes after decompression. */
  maxPayloadSize: number
  /** ingest.max_batch_size, in events. */
  maxBatchSize: number
}

/**
 * Result of preparing a body: validated events, a malformed body to
 * quarantine whole, or a rejection with its error code and value. It is
 * plain data, so a worker thread can send it.
 */
export type BodyOutcome =
  | { kind: 'prepared'; events: PreparedEvent[] }
  | { kind: 'malformed'; errorCode: string; message: string; rawText: string }
  | { kind: 'rejected'; code: ErrorCode; message: string; value: unknown }

/** Decodes, parses and validates one body; every failure that is the body's fault becomes an outcome. */
export async function prepareBody(input: BodyInput, validator: EventValidator, limits: BodyLimits): Promise<BodyOutcome> {
  const body = Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength)
  try {
    const decoded = await decodeBody(body, input.contentEncoding, limits.maxPayloadSize)
    const candidates = parseCandidates(bodyText(decoded), input.format)
    if (candidates.length === 0) {
      return { kind: 'rejected', code: 'SIEM_ERR_INGEST_NO_VALID_EVENTS', message: 'the body contains no events', value: undefined }
    }
    if (candidates.length > limits.maxBatchSize) {
      return {
        kind: 'rejected',
        code: 'SIEM_ERR_INGEST_BATCH_TOO_LARGE',
        message: `the request contains ${candidates.length} events; ingest.max_batch_size is ${limits.maxBatchSize}`,
        value: candidates.length,
      }
    }
    return { kind: 'prepared', events: prepareCandidates(candidates, validator, input.context) }
  } catch (err) {
    if (err instanceof MalformedBody) return { kind: 'malformed', errorCode: err.errorCode, message: err.message, rawText: err.rawText }
    if (!(err instanceof SiemError)) throw err
    if (err.code === 'SIEM_ERR_INGEST_MALFORMED_BODY') {
      // gzip or deflate data that does not inflate is kept as base64.
      return { kind: 'malformed', errorCode: 'malformed_encoding', message: err.message, rawText: `base64:${body.toString('base64')}` }
    }
    return { kind: 'rejected', code: err.code, message: err.message, value: err.value }
  }
}
