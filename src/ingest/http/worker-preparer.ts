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
  input: BodyInput
  resolve(outcome: BodyOutcome): void
  reject(err: Error): void
}

/** One worker thread and its pending bodies. */
interface Slot {
  worker: Worker
  tasks: Map<number, Task>
  ready: Promise<void>
  /** True when this process stops the worker, so that its exit is not counted as a failure. */
  stopping: boolean
}

/** Handles the bodies a dead worker left without a reply. */
type OnDeath = (unanswered: Task[], reason: string) => void

/**
 * Prepares bodies in a fixed number of worker threads, so that JSON parsing,
 * validation and row serialization leave the main thread, which keeps the
 * network, the re-send window and the queue. A body goes to the worker with
 * the fewest unanswered bodies, and the next body replaces a worker that
 * died.
 *
 * A worker that dies with one body unanswered fails it with
 * SIEM_ERR_INGEST_WORKER_FAILED (503: none of its events was acknowledged,
 * so the sender retries). With several unanswered, no sign shows which one
 * killed it, and failing them all would let one body that always kills a
 * worker fail every body beside it, each time it is sent again. So those
 * bodies are prepared again one at a time in a worker of their own: each
 * body that survives gets its outcome, and only a body that kills that
 * worker too fails.
 */
export class WorkerBodyPreparer implements BodyPreparer {
  readonly #options: WorkerBodyPreparerOptions
  readonly #slots: Array<Slot | undefined>
  #nextId = 0
  #closed = false
  #failures = 0
  /** Bodies left unanswered by a worker that died with others, waiting to be prepared alone. */
  readonly #suspects: Task[] = []
  /** The worker that prepares suspects, one at a time, while any wait. */
  #isolation: Slot | undefined

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
    let pendingBodies = this.#suspects.length + (this.#isolation?.tasks.size ?? 0)
    for (const slot of this.#slots) pendingBodies += slot?.tasks.size ?? 0
    return { pendingBodies, workerFailures: this.#failures }
  }

  prepare(input: BodyInput): Promise<BodyOutcome> {
    if (this.#closed) return Promise.reject(new SiemError('SIEM_ERR_QUEUE_CLOSED', 'the server is shutting down', { retryAfterSeconds: 1 }))
    // A small body is a view into a shared pool buffer, which a message would copy whole.
    const body = input.body.byteLength === input.body.buffer.byteLength ? input.body : new Uint8Array(input.body)
    return new Promise<BodyOutcome>((resolve, reject) => {
      this.#send(this.#slot(this.#leastBusy()), { input: { ...input, body }, resolve, reject })
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    const slots = this.#slots.filter((slot): slot is Slot => slot !== undefined)
    if (this.#isolation !== undefined) slots.push(this.#isolation)
    this.#slots.fill(undefined)
    this.#isolation = undefined
    await Promise.all(slots.map((slot) => slot.worker.terminate()))
    for (const slot of slots) this.#fail([...slot.tasks.values()], 'the server is shutting down')
    this.#fail(this.#suspects.splice(0), 'the server is shutting down')
  }

  #send(slot: Slot, task: Task): void {
    const id = this.#nextId++
    if (slot.tasks.size === 0) slot.worker.ref()
    slot.tasks.set(id, task)
    // Copied, not moved: a body left unanswered by a dead worker is sent again.
    slot.worker.postMessage({ id, input: task.input } satisfies PrepareRequest)
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
    const slot = this.#spawn(index, (unanswered, reason) => {
      if (this.#slots[index] === slot) this.#slots[index] = undefined
      if (unanswered.length <= 1 || this.#closed) return this.#fail(unanswered, reason)
      this.#options.logger.warn({ worker: index, unanswered: unanswered.length }, 'preparing the bodies a dead worker left unanswered again, one at a time')
      this.#suspects.push(...unanswered)
      this.#nextSuspect()
    })
    this.#slots[index] = slot
    return slot
  }

  /** Sends the next suspect to the isolation worker when it has nothing pending, and stops that worker when none is left. */
  #nextSuspect(): void {
    if (this.#closed || (this.#isolation !== undefined && this.#isolation.tasks.size > 0)) return
    const task = this.#suspects.shift()
    if (task === undefined) {
      const idle = this.#isolation
      this.#isolation = undefined
      if (idle !== undefined) {
        idle.stopping = true
        void idle.worker.terminate()
      }
      return
    }
    const slot = (this.#isolation ??= this.#spawn('isolation', (unanswered, reason) => {
      if (this.#isolation === slot) this.#isolation = undefined
      this.#options.logger.error({ worker: 'isolation', unanswered: unanswered.length }, 'a body killed a preparation worker again when prepared alone, so it failed with 503')
      this.#fail(unanswered, reason)
      this.#nextSuspect()
    }))
    const settle = (): void => queueMicrotask(() => this.#nextSuspect())
    this.#send(slot, {
      input: task.input,
      resolve: (outcome) => {
        task.resolve(outcome)
        settle()
      },
      reject: (err) => {
        task.reject(err)
        settle()
      },
    })
  }

  /** Starts a worker. `index` names it in logs. */
  #spawn(index: number | 'isolation', onDeath: OnDeath): Slot {
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
    const slot: Slot = { worker, tasks, ready, stopping: false }
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
      this.#options.logger.error({ err, worker: index, unanswered: tasks.size }, 'preparation worker failed, and the next body starts a new worker')
      markFailed(err)
    })
    worker.on('exit', (exitCode) => {
      markFailed(new Error(`preparation worker exited with code ${exitCode}`))
      // An isolation worker stopped for want of work, or any worker at close, did not fail.
      if (slot.stopping || this.#closed) return
      this.#failures++
      this.#options.onWorkerFailure?.()
      const unanswered = [...tasks.values()]
      tasks.clear()
      onDeath(unanswered, `the preparation worker exited with code ${exitCode}`)
    })
    return slot
  }

  #fail(tasks: Task[], reason: string): void {
    for (const task of tasks) {
      task.reject(new SiemError('SIEM_ERR_INGEST_WORKER_FAILED', `${reason}; the events were not accepted, send them again`, { retryAfterSeconds: 1 }))
    }
  }
}
