import { randomUUID } from 'node:crypto'
import { EventGenerator } from '../model/js-generator.js'

/** Digits of the request number in every tag, zero-padded so that each tag has the same byte length. */
export const TAG_DIGITS = 10
const ID_LENGTH = 36

/** One pool entry: the body's UTF-8 bytes with placeholders, and where each event's id and tag digits go. */
interface BodyTemplate {
  bytes: Buffer
  idOffsets: Uint32Array
  tagDigitOffsets: Uint32Array
}

export interface RequestBody {
  body: Buffer
  eventIds: string[]
}

/**
 * Request bodies generated once, each of `batchSize` events from the event
 * model, kept as the bytes of `{"events": [...]}`. `build` copies an entry
 * and writes fresh event ids and the request number into it, so a send costs
 * one copy and 1000 short writes instead of joining 500 strings and encoding
 * the result as UTF-8. The load generator shares the cores with the server
 * it measures, so its own CPU time counts against the server.
 */
export class RequestPool {
  readonly #templates: BodyTemplate[] = []
  readonly #generator: EventGenerator
  #next = 0

  /** Generates the pool. Every event gets source.instance_id `${tagPrefix}` and the request number in TAG_DIGITS digits. */
  constructor(seed: number, batches: number, batchSize: number, nowMs: number, tagPrefix: string) {
    this.#generator = new EventGenerator(seed)
    const tagPlaceholder = `${tagPrefix}${'0'.repeat(TAG_DIGITS)}`
    const idPlaceholder = '0'.repeat(ID_LENGTH)
    for (let b = 0; b < batches; b++) {
      const parts: string[] = []
      const idOffsets = new Uint32Array(batchSize)
      const tagDigitOffsets = new Uint32Array(batchSize)
      let offset = 0
      const append = (text: string): void => {
        parts.push(text)
        offset += Buffer.byteLength(text)
      }
      append('{"events":[')
      for (let i = 0; i < batchSize; i++) {
        const event = this.#generator.next(nowMs, 60_000)
        event.source.instance_id = tagPlaceholder
        // Drop the opening brace: the id goes first, as `{"event_id":"…",`.
        const [beforeTag, afterTag] = JSON.stringify(event).slice(1).split(tagPlaceholder) as [string, string]
        append(i === 0 ? '{"event_id":"' : ',{"event_id":"')
        idOffsets[i] = offset
        append(`${idPlaceholder}",${beforeTag}${tagPrefix}`)
        tagDigitOffsets[i] = offset
        append(`${'0'.repeat(TAG_DIGITS)}${afterTag}`)
      }
      append(']}')
      const bytes = Buffer.from(parts.join(''))
      if (bytes.length !== offset) throw new Error(`request template is ${bytes.length} bytes, expected ${offset}`)
      this.#templates.push({ bytes, idOffsets, tagDigitOffsets })
    }
  }

  nextTenant(): string {
    return this.#generator.nextTenant()
  }

  /** Returns the next pool entry with new event ids and `sequence` as every event's request number. */
  build(sequence: number): RequestBody {
    const template = this.#templates[this.#next] as BodyTemplate
    this.#next = (this.#next + 1) % this.#templates.length
    const body = Buffer.allocUnsafe(template.bytes.length)
    template.bytes.copy(body)
    const digits = String(sequence).padStart(TAG_DIGITS, '0')
    if (digits.length !== TAG_DIGITS) throw new Error(`request number ${sequence} has more than ${TAG_DIGITS} digits`)
    const eventIds: string[] = new Array<string>(template.idOffsets.length)
    for (let i = 0; i < eventIds.length; i++) {
      const id = randomUUID()
      eventIds[i] = id
      body.write(id, template.idOffsets[i] as number, 'latin1')
      body.write(digits, template.tagDigitOffsets[i] as number, 'latin1')
    }
    return { body, eventIds }
  }
}
