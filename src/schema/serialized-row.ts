import type { EventRow } from './event.js'

/** Every column of an `events` row but `event_id`, which a serialized row keeps apart. */
const PARSED_COLUMNS = [
  'tenant_id',
  'timestamp',
  'received_at',
  'source_product',
  'source_host',
  'source_instance_id',
  'source_version',
  'actor_type',
  'actor_id',
  'actor_name',
  'actor_email',
  'actor_ip',
  'action',
  'target',
  'outcome',
  'severity',
  'schema_version',
  'raw',
  'metadata',
] as const satisfies ReadonlyArray<keyof EventRow>

// Fails to compile when EventRow gains a column that PARSED_COLUMNS lacks.
const everyColumnListed: Exclude<keyof EventRow, (typeof PARSED_COLUMNS)[number] | 'event_id'> extends never ? true : never = true
void everyColumnListed

// The class below gets these columns as getters on its prototype; this declaration gives them their types.
export interface SerializedEventRow extends EventRow {}

/**
 * An `events` row known by its JSON text, as a preparation worker sends it
 * to the main thread. The text is what the spool writes and the writer
 * inserts, so the hot path reads only `json` and `event_id`. Any other
 * column parses the text once, on first read; that happens only on rare
 * paths, such as a row ClickHouse refused.
 */
export class SerializedEventRow {
  readonly json: string
  readonly event_id: string
  #parsed: EventRow | undefined

  constructor(json: string, eventId: string) {
    this.json = json
    this.event_id = eventId
  }

  /** Returns the row as a plain object, so JSON.stringify of this row gives `json` again. */
  toJSON(): EventRow {
    this.#parsed ??= JSON.parse(this.json) as EventRow
    return this.#parsed
  }
}

for (const column of PARSED_COLUMNS) {
  Object.defineProperty(SerializedEventRow.prototype, column, {
    get(this: SerializedEventRow) {
      return this.toJSON()[column]
    },
    enumerable: false,
    configurable: false,
  })
}
