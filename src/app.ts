import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { Config } from './config/types.js'
import { ApiKeyAuth } from './http/auth.js'
import { registerOpsRoutes, type StorageCheck } from './http/ops-routes.js'
import { registerRequestGuards } from './http/request-guards.js'
import { createHttpServer } from './http/server.js'
import { CefListeners, type CefAddresses } from './ingest/cef/listeners.js'
import type { BodyPreparer } from './ingest/http/body-preparer.js'
import { startBodyPreparer } from './ingest/http/create-preparer.js'
import { registerEventsRoute } from './ingest/http/events-route.js'
import { IngestPipeline } from './ingest/pipeline.js'
import { createLogger, type Logger } from './logger.js'
import { IngestMetrics, WriterMetrics, registerQueueGauges } from './metrics/pipeline-metrics.js'
import { KeyRateLimiter } from './query/rate-limit.js'
import { registerQueryRoutes } from './query/routes.js'
import { registerSqlRoute } from './query/sql-route.js'
import { createQueue } from './queue/create-queue.js'
import type { EventQueue } from './queue/types.js'
import { EventValidator } from './schema/validate.js'
import { BatchWriter } from './storage/batch-writer.js'
import { errorMessage, openStorage, type Storage } from './storage/client.js'
import { runMigrations } from './storage/migrator.js'
import { applyRetention } from './storage/retention.js'
import { loadRecentEventIds } from './storage/recent-event-ids.js'
import { ClickHouseRowSink } from './storage/row-sink.js'

export interface AppOptions {
  logger?: Logger
}

export interface AppAddresses {
  http: { host: string; port: number }
  /** CEF listeners that are enabled, with their bound ports. */
  cef: CefAddresses
}

/**
 * The running service: storage, migrations, queue, writer and listeners,
 * started in dependency order and closed in reverse. This file only wires
 * the parts together.
 */
export class SiemApp {
  readonly config: Config
  readonly logger: Logger
  readonly registry = new Registry()
  #storage: Storage | undefined
  #queue: EventQueue | undefined
  #writer: BatchWriter | undefined
  #http: FastifyInstance | undefined
  #cef: CefListeners | undefined
  #preparer: BodyPreparer | undefined
  #ready = false
  #started: Promise<AppAddresses> | undefined
  #closed: Promise<boolean> | undefined
  readonly #startedAt = Date.now()

  constructor(config: Config, options: AppOptions = {}) {
    this.config = config
    this.logger = options.logger ?? createLogger(config.log)
  }

  /** The ClickHouse connection, for the CLI and for tests that read what was stored. */
  get storage(): Storage {
    if (this.#storage === undefined) throw new Error('SiemApp.storage read before start()')
    return this.#storage
  }

  start(): Promise<AppAddresses> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<AppAddresses> {
    collectDefaultMetrics({ register: this.registry })
    const storage = await this.#openStorage()
    const queue = await this.#startQueue()
    const writer = this.#startWriter(storage, queue)
    const auth = new ApiKeyAuth(this.config.auth)
    if (auth.open) {
      this.logger.warn(
        { host: this.config.http.host },
        'no API keys configured: every request is tenant "default" with every role; listening on loopback only',
      )
    }
    const validator = new EventValidator(this.config.validation)
    const pipeline = new IngestPipeline({
      config: this.config.ingest,
      validator,
      queue,
      metrics: new IngestMetrics(this.registry),
      // A re-send waits for the request holding its ids no longer than an enqueue waits for room.
      resendWaitMs: this.config.queue.block_timeout,
    })
    await this.#restoreResendWindow(storage, queue, pipeline)
    const preparer = await startBodyPreparer(this.config, validator, this.logger, this.registry)
    this.#preparer = preparer
    const http = await this.#startHttp(storage, queue, writer, auth, pipeline, preparer)
    const cef = new CefListeners({ config: this.config, ingestor: pipeline, logger: this.logger, registry: this.registry })
    this.#cef = cef
    const addresses: AppAddresses = { http, cef: await cef.start() }
    this.logger.info(
      { host: http.host, port: http.port, tls: this.config.http.tls.enabled, cef_tcp: addresses.cef.tcp?.port, cef_udp: addresses.cef.udp?.port },
      'listening',
    )
    return addresses
  }

  /** Opens ClickHouse, applies migrations and retention; the service is ready after this. */
  async #openStorage(): Promise<Storage> {
    const { config, logger } = this
    const storage = await openStorage(config.storage, logger)
    this.#storage = storage
    logger.info({ mode: storage.mode, data_dir: storage.dataDir, database: storage.database }, 'storage opened')
    const migrations = await runMigrations(storage.client, logger.child({ component: 'migrator' }))
    await applyRetention(storage.client, storage.database, config.retention, logger.child({ component: 'retention' }))
    this.#ready = true
    logger.info({ applied: migrations.applied, skipped: migrations.skipped.length }, 'migrations done')
    return storage
  }

  /** Opens the queue; a disk spool replays what it holds before any listener starts. */
  async #startQueue(): Promise<EventQueue> {
    const queue = createQueue(this.config, this.logger, this.registry)
    this.#queue = queue
    await queue.start()
    registerQueueGauges(this.registry, queue)
    return queue
  }

  /**
   * Rebuilds the re-send window from the events stored within
   * `ingest.dedup_window` and those the spool replayed, before any listener
   * starts. A sender's retry of a request that a crash cut off is then
   * skipped.
   */
  async #restoreResendWindow(storage: Storage, queue: EventQueue, pipeline: IngestPipeline): Promise<void> {
    const { dedup_window: windowMs, dedup_window_events: limit } = this.config.ingest
    const started = performance.now()
    const replayed = queue.takeReplayedIds()
    if (limit <= 0) return
    const stored = await loadRecentEventIds(storage.client, Date.now() - windowMs, limit)
    const windowIds = pipeline.restoreResendWindow([stored, replayed])
    this.logger.info(
      { stored_ids: stored.length, spooled_ids: replayed.length, window_ids: windowIds, duration_ms: Math.round(performance.now() - started) },
      're-send window restored',
    )
  }

  #startWriter(storage: Storage, queue: EventQueue): BatchWriter {
    const writer = new BatchWriter({
      config: this.config.writer,
      queue,
      sink: new ClickHouseRowSink(storage.client),
      metrics: new WriterMetrics(this.registry),
      logger: this.logger.child({ component: 'writer' }),
    })
    this.#writer = writer
    writer.start()
    return writer
  }

  async #startHttp(
    storage: Storage,
    queue: EventQueue,
    writer: BatchWriter,
    auth: ApiKeyAuth,
    pipeline: IngestPipeline,
    preparer: BodyPreparer,
  ): Promise<{ host: string; port: number }> {
    const { config } = this
    const http = createHttpServer({ config: config.http, logger: this.logger, bodyLimit: config.ingest.max_payload_size })
    this.#http = http
    registerRequestGuards(http, auth)
    registerEventsRoute(http, { config: config.ingest, auth, pipeline, preparer })
    const limiter = new KeyRateLimiter(config.query.rate_limit_per_minute)
    registerSqlRoute(http, storage.client, auth, config.query, limiter)
    registerQueryRoutes(http, {
      client: storage.client,
      auth,
      limiter,
      config: config.query,
      ingestor: pipeline,
      validation: config.validation,
      cef: config.cef,
    })
    registerOpsRoutes(
      http,
      {
        queueStats: () => queue.stats(),
        checkStorage: () => checkStorage(storage),
        ready: () => this.#ready,
        writerFailing: () => writer.failing,
        startedAt: this.#startedAt,
      },
      this.registry,
    )
    await http.listen({ host: config.http.host, port: config.http.port })
    const address = http.server.address() as AddressInfo
    return { host: address.address, port: address.port }
  }

  /**
   * Stops accepting, drains the queue into ClickHouse for up to
   * `shutdown_wait`, and closes everything. Resolves true when nothing was
   * left behind. Safe to call twice.
   */
  close(): Promise<boolean> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<boolean> {
    const started = Date.now()
    await this.#started?.catch(() => undefined)
    await Promise.all([this.#http?.close(), this.#cef?.close()])
    await this.#preparer?.close()
    this.#queue?.drain()
    const flushed = (await this.#writer?.stop(this.config.shutdown_wait)) ?? true
    await this.#queue?.close()
    await this.#storage?.close()
    const left = this.#queue?.stats().depthEvents ?? 0
    if (flushed) this.logger.info({ duration_ms: Date.now() - started }, 'shutdown complete')
    else this.logger.warn({ duration_ms: Date.now() - started, events_left: left }, 'shutdown wait elapsed with events not stored')
    return flushed
  }
}

/**
 * Time limit of the ping behind /health and /ready in server mode, in
 * milliseconds. A server that does not respond (a black-holed network)
 * would otherwise hold the probe for the whole storage.server.request_timeout.
 * The embedded engine runs in this process, so its ping has no limit.
 */
const SERVER_PING_TIMEOUT_MS = 2000

async function checkStorage(storage: Storage): Promise<StorageCheck> {
  const started = performance.now()
  try {
    const limit = storage.mode === 'server' ? { select: false as const, abort_signal: AbortSignal.timeout(SERVER_PING_TIMEOUT_MS) } : undefined
    const result = await storage.client.ping(limit)
    const latency = Math.round((performance.now() - started) * 100) / 100
    if (result.success) return { ok: true, latency_ms: latency }
    return { ok: false, latency_ms: latency, error: errorMessage(result.error) }
  } catch (err) {
    return { ok: false, latency_ms: Math.round(performance.now() - started), error: errorMessage(err) }
  }
}
