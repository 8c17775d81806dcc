/**
 * Entry point of a preparation worker thread. It decodes, parses and
 * validates request bodies with its own validator and posts each outcome
 * back. Apart from the validator and the scratch buffer of `toWire`, no
 * state outlives a body.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { EventValidator } from '../../schema/validate.js'
import { prepareBody } from './prepare-body.js'
import { toWire } from './prepare-wire.js'
import type { PrepareRequest, PrepareWorkerData, WorkerReply } from './worker-protocol.js'

const port = parentPort
if (port === null) throw new Error('prepare-worker.js runs only as a worker thread')
const { validation, limits } = workerData as PrepareWorkerData
const validator = new EventValidator(validation)

port.on('message', (request: PrepareRequest) => {
  prepareBody(request.input, validator, limits).then(
    (outcome) => {
      const wire = toWire(outcome)
      port.postMessage({ id: request.id, outcome: wire.outcome } satisfies WorkerReply, wire.transfer)
    },
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err)
      port.postMessage({ id: request.id, failure: message } satisfies WorkerReply)
    },
  )
})
port.postMessage({ ready: true } satisfies WorkerReply)
