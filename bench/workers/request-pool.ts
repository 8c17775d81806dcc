import { randomUUID } from 'node:crypto'
import { EventGenerator } from '../model/js-generator.js'

const TAG = '@@BENCH_TAG@@'

/** One event serialized without its id, split where the request tag goes. */
interface EventFragment {
  beforeTag: string
  afterTag: string
}

export interface RequestBody {
  body: string
  eventIds: string[]
}

/**
 * Request bodies generated once, each of `batchSize` events from the event
 * model. `build` joins a pool entry with fresh event ids and a request tag,
 * so sending costs a string join instead of a JSON.stringify of 500 objects.
 */
export class RequestPool {
  readonly #batches: EventFragment[][] = []
  readonly #generator: EventGenerator
  #next = 0

  constructor(seed: number, batches: number, batchSize: number, nowMs: number) {
    this.#generator = new EventGenerator(seed)
    for (let b = 0; b < batches; b++) {
      const fragments: EventFragment[] = []
      for (let i = 0; i < batchSize; i++) {
        const event = this.#generator.next(nowMs, 60_000)
        event.source.instance_id = TAG
        // Drop the opening brace: build() writes `{"event_id":"…",` in front.
        const text = JSON.stringify(event).slice(1)
        const [beforeTag, afterTag] = text.split(TAG) as [string, string]
        fragments.push({ beforeTag, afterTag })
      }
      this.#batches.push(fragments)
    }
  }

  nextTenant(): string {
    return this.#generator.nextTenant()
  }

  /** The next pool entry, as `{"events": [...]}` with new ids and `tag` as every event's source.instance_id. */
  build(tag: string): RequestBody {
    const fragments = this.#batches[this.#next] as EventFragment[]
    this.#next = (this.#next + 1) % this.#batches.length
    const eventIds: string[] = new Array<string>(fragments.length)
    const parts: string[] = new Array<string>(fragments.length)
    for (let i = 0; i < fragments.length; i++) {
      const id = randomUUID()
      const fragment = fragments[i] as EventFragment
      eventIds[i] = id
      parts[i] = `{"event_id":"${id}",${fragment.beforeTag}${tag}${fragment.afterTag}`
    }
    return { body: `{"events":[${parts.join(',')}]}`, eventIds }
  }
}
