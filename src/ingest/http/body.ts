import { gunzip, inflate } from 'node:zlib'
import { promisify } from 'node:util'
import { SiemError } from '../../errors.js'
import type { Candidate } from '../types.js'

const gunzipAsync = promisify(gunzip)
const inflateAsync = promisify(inflate)
const utf8 = new TextDecoder('utf-8', { fatal: true })

export type BodyFormat = 'json' | 'ndjson'

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/jsonlines'])

/** Picks the body format from Content-Type; a missing type is read as JSON. */
export function bodyFormatOf(contentType: string | undefined): BodyFormat {
  const type = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'application/json' || type === '' || type.endsWith('+json')) return 'json'
  if (NDJSON_TYPES.has(type)) return 'ndjson'
  throw new SiemError(
    'SIEM_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE',
    `unsupported Content-Type ${JSON.stringify(contentType)}; send application/json or application/x-ndjson`,
    { value: contentType },
  )
}

/**
 * Decompresses the body per Content-Encoding (gzip, deflate or identity) to
 * at most `maxBytes`, and checks the encoding before any parsing, so an
 * unknown encoding is a 415 and never a parse error.
 */
export async function decodeBody(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase()
  try {
    if (encoding === 'identity' || encoding === '') return body
    if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzipAsync(body, { maxOutputLength: maxBytes })
    if (encoding === 'deflate') return await inflateAsync(body, { maxOutputLength: maxBytes })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new SiemError('SIEM_ERR_INGEST_PAYLOAD_TOO_LARGE', `the decompressed body is larger than ${maxBytes} bytes`, {
        value: maxBytes,
        cause: err,
      })
    }
    throw new SiemError('SIEM_ERR_INGEST_MALFORMED_BODY', `the body is not valid ${encoding} data`, { value: encoding, cause: err })
  }
  throw new SiemError(
    'SIEM_ERR_INGEST_UNSUPPORTED_ENCODING',
    `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}; send gzip, deflate or no encoding`,
    { value: contentEncoding },
  )
}

/** A body that could not be read at all; it goes to quarantine whole. */
export class MalformedBody extends Error {
  readonly errorCode: string
  readonly rawText: string

  constructor(errorCode: string, message: string, rawText: string) {
    super(message)
    this.errorCode = errorCode
    this.rawText = rawText
  }
}

/** Decodes UTF-8 strictly and strips a leading byte order mark. */
export function bodyText(body: Buffer): string {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    throw new MalformedBody('invalid_utf8', 'the body is not valid UTF-8', body.toString('latin1'))
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

/**
 * Splits a body into candidates: `{"events": [...]}`, a bare array, or one
 * event object for JSON; one event a line for NDJSON, where a line that is
 * not JSON becomes an unparsable candidate and the other lines still count.
 */
export function parseCandidates(text: string, format: BodyFormat): Candidate[] {
  return format === 'ndjson' ? parseNdjson(text) : parseJsonBody(text)
}

function parseJsonBody(text: string): Candidate[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'invalid JSON'
    throw new MalformedBody('malformed_json', `the body is not valid JSON: ${reason}`, text)
  }
  let events: unknown
  if (Array.isArray(parsed)) {
    events = parsed
  } else if (typeof parsed === 'object' && parsed !== null && 'events' in parsed) {
    events = (parsed as { events: unknown }).events
    if (!Array.isArray(events)) {
      throw new MalformedBody('invalid_body', 'the body field "events" must be an array of events', text)
    }
  } else if (typeof parsed === 'object' && parsed !== null) {
    events = [parsed]
  } else {
    throw new MalformedBody('invalid_body', 'the body must be {"events": [...]}, an array of events, or one event object', text)
  }
  return (events as unknown[]).map((value) => ({ kind: 'object', value }))
}

function parseNdjson(text: string): Candidate[] {
  const candidates: Candidate[] = []
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    let line = text.slice(start, end)
    start = end + 1
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line.trim() === '') continue
    try {
      candidates.push({ kind: 'object', value: JSON.parse(line), rawText: line })
    } catch (err) {
      const reason = err instanceof Error ? err.message : 'invalid JSON'
      candidates.push({
        kind: 'unparsable',
        rawText: line,
        errorCode: 'malformed_json',
        errors: [{ field: '(event)', code: 'malformed_json', message: `the line is not valid JSON: ${reason}` }],
      })
    }
  }
  return candidates
}
