import { Worker } from 'node:worker_threads'
import type { ValidationConfig } from '../../config/types.js'
import { SiemError } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { PreparerStats } from '../../metrics/pipeline-metrics.js'
import type { BodyPreparer } from './body-preparer.js'
import type { BodyInput, BodyLimits, BodyOutcome } from './prepare-body.js'
import { fromWire } from './prepare-wire.js'
import type { PrepareRequest, PrepareWorkerData, WorkerReply } from './worker-protocol.js'

const WORKER_SCRIPT = new URL('./prepare-worker.js', import.meta.url)

export interface WorkerBodyPreparerOptions {
  workers: number
  validation: ValidationConfig
  limits: BodyLimits
  logger: Logger
  /** The worker's entry point; tests give one that misbehaves. */
  script?: URL
  /** Called each time a worker dies while the pool is open. */
  onWorkerFailure?: () => void
}

interface Task {
  resolve(outcome: BodyOutcome): void
  reject(err: Error): void
}

/** One worker thread and its pending bodies. */
interface Slot {
  worker: Worker
  tasks: Map<number, Task>
  ready: Promise<void>
}

/**
 * Prepares bodies in a fixed number of worker threads, so that JSON parsing,
 * validation and row serialization leave the main thread, which keeps the
 * network, the re-send window and the queue. A body goes to the worker with
 * the fewest unanswered bodies. A worker that dies fails its unanswered
 * bodies with SIEM_ERR_INGEST_WORKER_FAILED (503: none of them was
 * acknowledged, so senders retry) and is replaced by the next body.
 */
export class WorkerBodyPreparer implements BodyPreparer {
  readonly #options: WorkerBodyPreparerOptions
  readonly #slots: Array<Slot | undefined>
  #nextId = 0
  #closed = false
  #failures = 0

  constructor(options: WorkerBodyPreparerOptions) {
    if (options.workers < 1) throw new RangeError('WorkerBodyPreparer needs at least one worker')
    this.#options = options
    this.#slots = Array.from({ length: options.workers }, () => undefined)
  }

  /** Starts every worker and waits until each has compiled its validator. */
  async start(): Promise<void> {
    await Promise.all(this.#slots.map((_, index) => this.#slot(index).ready))
  }

  /** Returns the pending bodies and the number of workers that died, for the metrics. */
  stats(): PreparerStats {
    let pendingBodies = 0
    for (const slot of this.#slots) pendingBodies += slot?.tasks.size ?? 0
    return { pendingBodies, workerFailures: this.#failures }
  }

  prepare(input: BodyInput): Promise<BodyOutcome> {
    if (this.#closed) return Promise.reject(new SiemError('SIEM_ERR_QUEUE_CLOSED', 'the server is shutting down', { retryAfterSeconds: 1 }))
    const slot = this.#slot(this.#leastBusy())
    const id = this.#nextId++
    return new Promise<BodyOutcome>((resolve, reject) => {
      if (slot.tasks.size === 0) slot.worker.ref()
      slot.tasks.set(id, { resolve, reject })
      // A small body is a view into a shared pool buffer, which a message would copy whole.
      const body = input.body.byteLength === input.body.buffer.byteLength ? input.body : new Uint8Array(input.body)
      slot.worker.postMessage({ id, input: { ...input, body } } satisfies PrepareRequest)
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    const slots = this.#slots.filter((slot): slot is Slot => slot !== undefined)
    this.#slots.fill(undefined)
    await Promise.all(slots.map((slot) => slot.worker.terminate()))
    for (const slot of slots) this.#fail(slot, 'the server is shutting down')
  }

  #leastBusy(): number {
    let best = 0
    let fewest = Number.POSITIVE_INFINITY
    for (let index = 0; index < this.#slots.length; index++) {
      const pending = this.#slots[index]?.tasks.size ?? 0
      if (pending < fewest) {
        best = index
        fewest = pending
      }
    }
    return best
  }

  #slot(index: number): Slot {
    const existing = this.#slots[index]
    if (existing !== undefined) return existing
    const data: PrepareWorkerData = { validation: this.#options.validation, limits: this.#options.limits }
    // A worker keeps the process alive until it is ready and while it has pending bodies, but not when idle.
    const worker = new Worker(this.#options.script ?? WORKER_SCRIPT, { workerData: data })
    const tasks = new Map<number, Task>()
    let markReady: () => void = () => {}
    let markFailed: (err: Error) => void = () => {}
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve
      markFailed = reject
    })
    // Rejections of `ready` are seen by start(); a worker that dies later must not leave one unhandled.
    ready.catch(() => {})
    const slot: Slot = { worker, tasks, ready }
    worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) {
        if (tasks.size === 0) worker.unref()
        return markReady()
      }
      const task = tasks.get(reply.id)
      if (task === undefined) return
      tasks.delete(reply.id)
      if (tasks.size === 0) worker.unref()
      if ('outcome' in reply) task.resolve(fromWire(reply.outcome))
      else task.reject(new SiemError('SIEM_ERR_INTERNAL', `preparing the body failed: ${reply.failure}`))
    })
    worker.on('error', (err) => {
      this.#options.logger.error({ err, worker: index, unanswered: tasks.size }, 'preparation worker failed; its pending bodies failed with 503 and the next body starts a new worker')
      markFailed(err)
    })
    worker.on('exit', (exitCode) => {
      if (!this.#closed) {
        this.#failures++
        this.#options.onWorkerFailure?.()
      }
      if (this.#slots[index] === slot) this.#slots[index] = undefined
      markFailed(new Error(`preparation worker exited with code ${exitCode}`))
      this.#fail(slot, `the preparation worker exited with code ${exitCode}`)
    })
    this.#slots[index] = slot
    return slot
  }

  #fail(slot: Slot, reason: string): void {
    for (const task of slot.tasks.values()) {
      task.reject(new SiemError('SIEM_ERR_INGEST_WORKER_FAILED', `${reason}; the events were not accepted, send them again`, { retryAfterSeconds: 1 }))
    }
    slot.tasks.clear()
  }
}
