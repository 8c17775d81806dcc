import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from 'pino'
import { assembleStatement } from './assemble.js'
import { decodeBody, pickResponseEncoding } from './compression.js'
import type { Engine, EngineResult } from './engine.js'
import { fromEngineError, ServerException } from './exception.js'
import type { ServerOptions } from './options.js'
import { parseQueryRequest, type Credentials, type QueryRequest } from './request.js'

/** The listening HTTP side of the test server. */
export interface HttpServer {
  port: number
  /** Stops accepting, lets running requests finish, then closes every socket. Safe to call twice. */
  close(): Promise<void>
}

/** Output format of a statement with neither a FORMAT clause nor `default_format`. */
const DEFAULT_OUTPUT_FORMAT = 'TabSeparated'

/** How long close() waits for running requests before it drops their sockets, in milliseconds. */
const CLOSE_GRACE_MS = 5000

/** Starts serving ClickHouse's HTTP interface on 127.0.0.1 on top of `engine`. */
export async function startHttpServer(options: ServerOptions, engine: Engine, logger: Logger): Promise<HttpServer> {
  const handler = new RequestHandler(options, engine, logger)
  const idleSockets = new IdleSocketCloser(options.keepAliveTimeoutMs)
  const server = createServer((req, res) => {
    idleSockets.track(req, res)
    handler.handle(req, res)
  })
  // Node.js uses this for the `Keep-Alive: timeout=N` response header, as
  // ClickHouse sends one, but closes idle sockets only a second or so later;
  // IdleSocketCloser closes them on time.
  server.keepAliveTimeout = options.keepAliveTimeoutMs
  await listen(server, options.port)
  const port = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    port,
    close() {
      closing ??= closeServer(server)
      return closing
    },
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS)
    force.unref()
    server.close(() => {
      clearTimeout(force)
      resolve()
    })
    server.closeIdleConnections()
  })
}

/**
 * Ends a keep-alive socket once it has been idle for the keep-alive
 * timeout after its last response, like a ClickHouse server does. Node.js
 * 20 waits another second past `server.keepAliveTimeout`, which would let a
 * client whose idle socket TTL is above the server's timeout pass unnoticed.
 */
class IdleSocketCloser {
  private readonly timers = new WeakMap<Socket, NodeJS.Timeout | undefined>()

  constructor(private readonly timeoutMs: number) {}

  track(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket
    if (this.timers.has(socket)) clearTimeout(this.timers.get(socket))
    else socket.once('close', () => clearTimeout(this.timers.get(socket)))
    this.timers.set(socket, undefined)
    res.once('finish', () => {
      const timer = setTimeout(() => socket.end(), this.timeoutMs)
      timer.unref()
      this.timers.set(socket, timer)
    })
  }
}

class RequestHandler {
  private readonly runningQueryIds = new Set<string>()

  constructor(
    private readonly options: ServerOptions,
    private readonly engine: Engine,
    private readonly logger: Logger,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname === '/ping' || url.pathname === '/replicas_status') {
      sendText(res, 200, 'Ok.\n')
    } else if (url.pathname !== '/') {
      sendText(res, 404, `There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`)
    } else if (req.method === 'GET' && !url.searchParams.has('query')) {
      sendText(res, 200, 'Ok.\n')
    } else {
      void this.handleQuery(req, res, url)
    }
  }

  private async handleQuery(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const started = process.hrtime.bigint()
    const queryId = url.searchParams.get('query_id') || randomUUID()
    res.setHeader('X-ClickHouse-Server-Display-Name', this.options.displayName)
    res.setHeader('X-ClickHouse-Query-Id', queryId)
    res.setHeader('X-ClickHouse-Timezone', this.engine.timezone)
    let request: QueryRequest | undefined
    try {
      const body = await decodeBody(await readBody(req), header(req, 'content-encoding'))
      request = parseQueryRequest(url, req.headers, body)
      this.authenticate(request.credentials)
      const result = await this.runExclusive(queryId, () => this.runQuery(req, request as QueryRequest, res))
      await this.sendResult(req, res, request, result, started)
      this.logger.debug({ query_id: queryId, elapsed_ms: elapsedMs(started) }, 'query finished')
    } catch (err) {
      const exception = fromEngineError(err)
      const level = exception.httpStatus >= 500 ? 'warn' : 'info'
      this.logger[level]({ query_id: queryId, code: exception.code, err: exception }, 'query failed')
      await this.sendException(req, res, request, exception)
    }
  }

  private async runQuery(req: IncomingMessage, request: QueryRequest, res: ServerResponse): Promise<EngineResult> {
    const statement = assembleStatement(request.queryParameter, request.body)
    // A GET request may read and change settings but not data, unless it sets readonly itself.
    if (req.method === 'GET' && !request.settings.has('readonly')) request.settings.set('readonly', '2')
    const format = statement.info.format ?? request.defaultFormat ?? DEFAULT_OUTPUT_FORMAT
    if (statement.info.keyword !== 'INSERT') res.setHeader('X-ClickHouse-Format', format)
    return this.engine.run({
      sql: statement.sql,
      data: statement.data,
      database: request.database,
      settings: [...request.settings],
      params: [...request.params],
      defaultFormat: request.defaultFormat ?? DEFAULT_OUTPUT_FORMAT,
      session: request.session,
    })
  }

  private async runExclusive<T>(queryId: string, run: () => Promise<T>): Promise<T> {
    if (this.runningQueryIds.has(queryId)) {
      throw new ServerException(216, 'QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING', `Query with id = ${queryId} is already running`)
    }
    this.runningQueryIds.add(queryId)
    try {
      return await run()
    } finally {
      this.runningQueryIds.delete(queryId)
    }
  }

  private authenticate(credentials: Credentials): void {
    if (credentials.user === this.options.user && credentials.password === this.options.password) return
    throw new ServerException(
      516,
      'AUTHENTICATION_FAILED',
      `${credentials.user}: Authentication failed: password is incorrect, or there is no user with such name`,
    )
  }

  private async sendResult(
    req: IncomingMessage,
    res: ServerResponse,
    request: QueryRequest,
    result: EngineResult,
    started: bigint,
  ): Promise<void> {
    const format = res.getHeader('X-ClickHouse-Format')
    res.setHeader('Content-Type', contentTypeFor(typeof format === 'string' ? format : DEFAULT_OUTPUT_FORMAT))
    res.setHeader('X-ClickHouse-Summary', JSON.stringify(summary(result, started)))
    await sendBody(req, res, request, 200, result.body)
  }

  private async sendException(
    req: IncomingMessage,
    res: ServerResponse,
    request: QueryRequest | undefined,
    exception: ServerException,
  ): Promise<void> {
    if (res.headersSent) {
      res.destroy()
      return
    }
    res.removeHeader('X-ClickHouse-Format')
    res.setHeader('Content-Type', 'text/plain; charset=UTF-8')
    res.setHeader('X-ClickHouse-Exception-Code', String(exception.code))
    await sendBody(req, res, request, exception.httpStatus, Buffer.from(exception.body(this.engine.version)))
  }
}

/** Sends a body, compressed when the request set `enable_http_compression=1`, as a server does. */
async function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  request: QueryRequest | undefined,
  status: number,
  body: Buffer,
): Promise<void> {
  let payload = body
  if (request?.settings.get('enable_http_compression') === '1') {
    const encoding = pickResponseEncoding(header(req, 'accept-encoding'), request.settings.get('http_zlib_compression_level'))
    if (encoding !== undefined) {
      payload = await encoding.encode(body)
      res.setHeader('Content-Encoding', encoding.name)
    }
  }
  res.statusCode = status
  res.end(payload)
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status
  res.setHeader('Content-Type', 'text/plain; charset=UTF-8')
  res.end(text)
}

function summary(result: EngineResult, started: bigint): Record<string, string> {
  const elapsedNs = process.hrtime.bigint() - started
  return {
    read_rows: String(result.readRows),
    read_bytes: String(result.readBytes),
    written_rows: String(result.writtenRows),
    written_bytes: String(result.writtenBytes),
    total_rows_to_read: '0',
    result_rows: String(result.resultRows),
    result_bytes: String(result.resultBytes),
    elapsed_ns: String(elapsedNs),
    real_time_microseconds: String(elapsedNs / 1000n),
  }
}

/** Content-Type by output format family; @clickhouse/client does not read it. */
function contentTypeFor(format: string): string {
  if (/^(Native|RowBinary|Parquet|Arrow|ORC|Avro|Protobuf|CapnProto|MsgPack|BSON)/i.test(format)) {
    return 'application/octet-stream'
  }
  if (/^JSON/i.test(format)) return 'application/json; charset=UTF-8'
  if (/^(TabSeparated|TSV)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8'
  if (/^CSV/i.test(format)) return `text/csv; charset=UTF-8; header=${/WithNames/i.test(format) ? 'present' : 'absent'}`
  return 'text/plain; charset=UTF-8'
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
    req.on('close', () => {
      if (!req.complete) reject(new ServerException(210, 'NETWORK_ERROR', 'The client closed the connection before the request body ended'))
    })
  })
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6
}
