import type { LoadJob, LoadReport, LoadWorkerMessage } from '../workers/protocol.js'
import { forkWorker, nextMessage, workerExit } from './workers.js'

export interface PreparedLoad {
  /** Starts sending and resolves with the worker's report once it has finished. */
  start(): Promise<LoadReport>
}

/** Forks a load worker and waits until it has generated its request pool. */
export async function prepareLoad(job: LoadJob): Promise<PreparedLoad> {
  const child = forkWorker('load-worker')
  const ready = nextMessage<Extract<LoadWorkerMessage, { type: 'ready' }>>(child, 'ready')
  child.send({ type: 'job', job })
  await ready
  return {
    async start() {
      const done = nextMessage<Extract<LoadWorkerMessage, { type: 'done' }>>(child, 'done')
      child.send({ type: 'go' })
      const message = await done
      await workerExit(child)
      return message.report
    },
  }
}
