import { ServerException } from './exception.js'

/** One `multipart/form-data` part. */
export interface FormPart {
  name: string
  value: Buffer
}

/** Returns the boundary of a `multipart/form-data` Content-Type, or undefined for any other type. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data\b/i.test(contentType)) return undefined
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  const boundary = match?.[1] ?? match?.[2]
  if (boundary === undefined) {
    throw new ServerException(36, 'BAD_ARGUMENTS', 'multipart/form-data request has no boundary')
  }
  return boundary
}

/**
 * Splits a `multipart/form-data` body into its named parts. @clickhouse/client
 * sends the query and `param_*` values this way when `use_multipart_params`
 * is on.
 *
 * @throws ServerException BAD_ARGUMENTS for a body that does not follow the format.
 */
export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: FormPart[] = []
  let position = body.indexOf(delimiter)
  if (position === -1) throw malformed('no opening boundary')
  for (;;) {
    position += delimiter.length
    if (body.subarray(position, position + 2).toString() === '--') return parts
    const headerStart = skipLineBreak(body, position)
    const headerEnd = body.indexOf('\r\n\r\n', headerStart)
    if (headerEnd === -1) throw malformed('a part has no header end')
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4)
    if (next === -1) throw malformed('a part has no closing boundary')
    const name = partName(body.subarray(headerStart, headerEnd).toString('latin1'))
    parts.push({ name, value: body.subarray(headerEnd + 4, next) })
    position = next + 2
  }
}

function skipLineBreak(body: Buffer, position: number): number {
  return body.subarray(position, position + 2).toString() === '\r\n' ? position + 2 : position
}

function partName(headers: string): string {
  const match = /content-disposition:[^\r\n]*;\s*name="([^"]*)"/i.exec(headers)
  if (match?.[1] === undefined) throw malformed('a part has no Content-Disposition name')
  return match[1]
}

function malformed(reason: string): ServerException {
  return new ServerException(36, 'BAD_ARGUMENTS', `Invalid multipart/form-data body: ${reason}`)
}
