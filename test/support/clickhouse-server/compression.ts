import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { ServerException } from './exception.js'

type Codec = (input: Buffer) => Promise<Buffer>

const gunzip = promisify(zlib.gunzip)
const inflate = promisify(zlib.inflate)
const brotliDecompress = promisify(zlib.brotliDecompress)
const gzip = promisify(zlib.gzip)
const deflate = promisify(zlib.deflate)
const brotliCompress = promisify(zlib.brotliCompress)

/** Default of the server's `http_zlib_compression_level` setting. */
const DEFAULT_LEVEL = 3

// zstd is in node:zlib from Node.js 22.15 on. On older runtimes the test
// server rejects a zstd body with NOT_IMPLEMENTED, as for any unknown codec.
const zstdDecompress = optionalCodec('zstdDecompress')
const zstdCompress = optionalCodec('zstdCompress')

function optionalCodec(name: string): ((input: Buffer) => Promise<Buffer>) | undefined {
  const fn = (zlib as unknown as Record<string, unknown>)[name]
  if (typeof fn !== 'function') return undefined
  return promisify(fn as (input: Buffer, callback: (err: Error | null, out: Buffer) => void) => void)
}

/**
 * Decodes a request body by its Content-Encoding, as the server does for
 * gzip, deflate, br and (where Node.js has it) zstd.
 *
 * @throws ServerException NOT_IMPLEMENTED for another encoding, or
 *   CANNOT_DECOMPRESS for a body the codec cannot decode.
 */
export async function decodeBody(body: Buffer, contentEncoding: string | undefined): Promise<Buffer> {
  const encoding = (contentEncoding ?? '').trim().toLowerCase()
  if (encoding === '' || encoding === 'identity' || encoding === 'none') return body
  const codecs: Record<string, Codec | undefined> = {
    gzip: gunzip,
    'x-gzip': gunzip,
    deflate: inflate,
    br: brotliDecompress,
    zstd: zstdDecompress,
  }
  const codec = codecs[encoding]
  if (codec === undefined) {
    throw new ServerException(48, 'NOT_IMPLEMENTED', `Unknown compression method '${encoding}'`)
  }
  try {
    return await codec(body)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new ServerException(271, 'CANNOT_DECOMPRESS', `Cannot decompress the ${encoding} request body: ${reason}`)
  }
}

/** A response encoding picked from Accept-Encoding. */
export interface ResponseEncoding {
  name: 'gzip' | 'deflate' | 'br' | 'zstd'
  encode: (body: Buffer) => Promise<Buffer>
}

/**
 * Picks the response encoding when the request set `enable_http_compression=1`:
 * the first codec in Accept-Encoding that the test server supports.
 */
export function pickResponseEncoding(
  acceptEncoding: string | undefined,
  levelSetting: string | undefined,
): ResponseEncoding | undefined {
  const level = levelSetting === undefined ? DEFAULT_LEVEL : Number(levelSetting)
  const accepted = (acceptEncoding ?? '').split(',').map((part) => part.split(';')[0]?.trim().toLowerCase())
  for (const name of accepted) {
    if (name === 'gzip') return { name, encode: (body) => gzip(body, { level }) }
    if (name === 'deflate') return { name, encode: (body) => deflate(body, { level }) }
    if (name === 'br') return { name, encode: (body) => brotliCompress(body) }
    if (name === 'zstd' && zstdCompress !== undefined) return { name, encode: zstdCompress }
  }
  return undefined
}
