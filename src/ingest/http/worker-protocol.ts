import type { ValidationConfig } from '../../config/types.js'
import type { BodyInput, BodyLimits } from './prepare-body.js'
import type { WireOutcome } from './prepare-wire.js'

/** Data a preparation worker starts with. */
export interface PrepareWorkerData {
  validation: ValidationConfig
  limits: BodyLimits
}

/** One body sent to a worker; `id` pairs it with its reply. */
export interface PrepareRequest {
  id: number
  input: BodyInput
}

/**
 * A worker's message: `ready` once its validator is compiled, then one
 * reply a request, with the outcome or the message of an unexpected error.
 */
export type WorkerReply = { ready: true } | { id: number; outcome: WireOutcome } | { id: number; failure: string }
