/**
 * A preparation worker that waits 50 ms after a body arrives, so that the
 * bodies sent meanwhile are pending together, then exits if any of them
 * contains the word `poison` and prepares them all otherwise. It imitates
 * a worker that one particular body crashes.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { prepareBody } from '../../src/ingest/http/prepare-body.js'
import { toWire } from '../../src/ingest/http/prepare-wire.js'
import type { PrepareRequest, PrepareWorkerData, WorkerReply } from '../../src/ingest/http/worker-protocol.js'
import { EventValidator } from '../../src/schema/validate.js'

const port = parentPort
if (port === null) throw new Error('poison-prepare-worker.js runs only as a worker thread')
const { validation, limits } = workerData as PrepareWorkerData
const validator = new EventValidator(validation)
const waiting: PrepareRequest[] = []

port.on('message', (request: PrepareRequest) => {
  waiting.push(request)
  if (waiting.length > 1) return
  setTimeout(() => {
    const batch = waiting.splice(0)
    if (batch.some((pending) => Buffer.from(pending.input.body).includes('poison'))) process.exit(3)
    for (const pending of batch) {
      void prepareBody(pending.input, validator, limits).then((outcome) => {
        const wire = toWire(outcome)
        port.postMessage({ id: pending.id, outcome: wire.outcome } satisfies WorkerReply, wire.transfer)
      })
    }
  }, 50)
})
port.postMessage({ ready: true } satisfies WorkerReply)
