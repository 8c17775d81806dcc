import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { QueueStats } from '../queue/types.js'

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy'

export interface StorageCheck {
  ok: boolean
  latency_ms: number
  error?: string
}

/** Read-only view of the running service, for the operations routes. */
export interface OpsSource {
  queueStats(): QueueStats
  checkStorage(): Promise<StorageCheck>
  /** True once migrations ran and storage responded. */
  ready(): boolean
  /** True while the writer's latest insert failed. */
  writerFailing(): boolean
  startedAt: number
}

/** The queue is called nearly full, and the service degraded, above this share of its capacity. */
const QUEUE_DEGRADED_RATIO = 0.8

/** A queue bounded by bytes only (the disk spool) reports no event capacity. */
function eventCapacity(queue: QueueStats): number | null {
  return Number.isSafeInteger(queue.capacityEvents) && queue.capacityEvents < Number.MAX_SAFE_INTEGER ? queue.capacityEvents : null
}

function healthStatus(storage: StorageCheck, queue: QueueStats, writerFailing: boolean): HealthStatus {
  if (!storage.ok) return 'unhealthy'
  const capacity = eventCapacity(queue)
  const used = Math.max(capacity === null ? 0 : queue.depthEvents / capacity, queue.depthBytes / queue.capacityBytes)
  if (writerFailing || used >= QUEUE_DEGRADED_RATIO) return 'degraded'
  return 'healthy'
}

/** GET /health, GET /ready and GET /metrics; none needs an API key. */
export function registerOpsRoutes(app: FastifyInstance, source: OpsSource, registry: Registry): void {
  app.get('/health', async (_request, reply) => {
    const storage = await source.checkStorage()
    const queue = source.queueStats()
    const status = healthStatus(storage, queue, source.writerFailing())
    return reply.code(status === 'unhealthy' ? 503 : 200).send({
      status,
      uptime_seconds: Math.round((Date.now() - source.startedAt) / 1000),
      queue: {
        depth_events: queue.depthEvents,
        capacity_events: eventCapacity(queue),
        depth_bytes: queue.depthBytes,
        capacity_bytes: queue.capacityBytes,
        dropped: queue.dropped,
      },
      writer: { failing: source.writerFailing() },
      storage,
    })
  })

  app.get('/ready', async (request, reply) => {
    if (!source.ready()) return reply.code(503).send({ ready: false, request_id: request.id, reason: 'migrations have not finished' })
    const storage = await source.checkStorage()
    if (!storage.ok) return reply.code(503).send({ ready: false, request_id: request.id, reason: storage.error ?? 'storage does not answer' })
    return reply.send({ ready: true })
  })

  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics()
    return reply.header('content-type', registry.contentType).send(text)
  })
}
