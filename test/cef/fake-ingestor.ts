import { EventEmitter, once } from 'node:events'
import { SiemError, type ErrorCode } from '../../src/errors.js'
import type { Candidate, IngestContext, IngestResult, Ingestor } from '../../src/ingest/types.js'

/**
 * An Ingestor that records what listeners hand it. `rejectWith` makes the
 * next calls reject with a queue error, as a full queue would.
 */
export class RecordingIngestor implements Ingestor {
  readonly candidates: Candidate[] = []
  readonly contexts: IngestContext[] = []
  calls = 0
  rejected = 0
  readonly #events = new EventEmitter()
  #rejectCode: ErrorCode | undefined
  #rejectRemaining = 0

  /** Rejects the next `count` calls (Infinity: until `acceptAll`) with `code`. */
  rejectWith(code: ErrorCode, count: number): void {
    this.#rejectCode = code
    this.#rejectRemaining = count
  }

  acceptAll(): void {
    this.#rejectRemaining = 0
  }

  async ingest(candidates: Candidate[], context: IngestContext): Promise<IngestResult> {
    this.calls++
    if (this.#rejectRemaining > 0 && this.#rejectCode !== undefined) {
      this.#rejectRemaining--
      this.rejected++
      this.#events.emit('rejected')
      throw new SiemError(this.#rejectCode, 'queue full', { retryAfterSeconds: 1 })
    }
    this.candidates.push(...candidates)
    this.contexts.push(context)
    this.#events.emit('ingested')
    const quarantined = candidates.filter((c) => c.kind === 'unparsable').length
    return { accepted: candidates.length - quarantined, quarantined, duplicates: 0, eventIds: [], errors: [] }
  }

  /** Resolves once at least `count` candidates were accepted. */
  async waitForCandidates(count: number): Promise<void> {
    while (this.candidates.length < count) await once(this.#events, 'ingested')
  }

  /** Resolves once at least `count` calls were rejected. */
  async waitForRejections(count: number): Promise<void> {
    while (this.rejected < count) await once(this.#events, 'rejected')
  }
}

/** Texts of the accepted candidates, in arrival order. */
export function rawTexts(ingestor: RecordingIngestor): string[] {
  return ingestor.candidates.map((candidate) => candidate.rawText ?? '')
}
