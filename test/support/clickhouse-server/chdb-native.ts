import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** Engine-side counters of one raw insert. */
export interface RawInsertResult {
  rowsWritten: number
  bytesWritten: number
  elapsed: number
}

interface NativeBinding {
  InsertRawAsyncConnection(
    connection: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<RawInsertResult>
}

let binding: NativeBinding | undefined

/**
 * Runs `prefix` (an INSERT statement ending in `FORMAT <name>`) with `data`
 * as its input, on the native connection of a chdb Session.
 *
 * chdb's public `Session.insert` accepts only a bare table name and a fixed
 * list of text formats, while the HTTP interface must take any INSERT text
 * and binary bodies. So this calls the same native entry point that
 * `Session.insert` uses for raw payloads, found through chdb's own loader.
 * NOTE: that loader and entry point are chdb 3.4 internals and may move in
 * another chdb release. The shape check below then fails with a clear error.
 */
export function insertRaw(connection: unknown, prefix: string, data: Buffer): Promise<RawInsertResult> {
  return loadBinding().InsertRawAsyncConnection(connection, prefix, data, false)
}

function loadBinding(): NativeBinding {
  if (binding !== undefined) return binding
  const require = createRequire(import.meta.url)
  const loaderPath = join(dirname(require.resolve('chdb')), 'dist', 'loader.js')
  const loader = require(loaderPath) as { loadNative?: () => unknown }
  const native = loader.loadNative?.() as Partial<NativeBinding> | undefined
  if (typeof native?.InsertRawAsyncConnection !== 'function') {
    throw new Error(`chdb native binding at ${loaderPath} has no InsertRawAsyncConnection; this chdb version is not supported`)
  }
  binding = native as NativeBinding
  return binding
}
