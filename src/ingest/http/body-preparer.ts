import type { EventValidator } from '../../schema/validate.js'
import { prepareBody, type BodyInput, type BodyLimits, type BodyOutcome } from './prepare-body.js'

/** Turns request bodies into validated events, on the main thread or in worker threads. */
export interface BodyPreparer {
  prepare(input: BodyInput): Promise<BodyOutcome>
  close(): Promise<void>
}

/** Prepares bodies on the calling thread: for `ingest.prepare_workers: 0`, and for tests. */
export class InlineBodyPreparer implements BodyPreparer {
  readonly #validator: EventValidator
  readonly #limits: BodyLimits

  constructor(validator: EventValidator, limits: BodyLimits) {
    this.#validator = validator
    this.#limits = limits
  }

  prepare(input: BodyInput): Promise<BodyOutcome> {
    return prepareBody(input, this.#validator, this.#limits)
  }

  async close(): Promise<void> {}
}
