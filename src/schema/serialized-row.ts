import type { EventRow, QueueItem } from './event.js'

/** Every column of an `events` row but `event_id`, which a serialized row keeps apart. */
const PARSED_COLUMNS = [
  'id_from_sender',
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
 * to the main thread. The text stays in UTF-8 bytes outside the JavaScript
 * heap: `line` is a view into the buffer the worker filled with the rows of
 * one body, one JSON line each. The spool copies those bytes into its
 * record and the writer into its insert, so the hot path reads only `line`
 * and `event_id`, and no row text passes through a string or the garbage
 * collector. Any other column parses the text once, on first read; that
 * happens only on rare paths, such as a row ClickHouse refused.
 */
export class SerializedEventRow {
  /** The row's JSON text in UTF-8, followed by one newline: a line of JSONEachRow. */
  readonly line: Buffer
  readonly event_id: string
  #parsed: EventRow | undefined

  constructor(line: Buffer, eventId: string) {
    this.line = line
    this.event_id = eventId
  }

  static fromJson(json: string, eventId: string): SerializedEventRow {
    return new SerializedEventRow(Buffer.from(`${json}\n`), eventId)
  }

  /** Size of the JSON text in bytes, without the newline. */
  get jsonBytes(): number {
    return this.line.length - 1
  }

  /** The JSON text, decoded anew at each read. */
  get json(): string {
    return this.line.toString('utf8', 0, this.jsonBytes)
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

/**
 * Copies the lines of the serialized rows among `items` into one buffer of
 * their own when those lines fill less than half of the buffers they view.
 * A line keeps the whole buffer of its body alive until the row is stored.
 * Without the copy, the few rows left of a body whose other events were
 * skipped as re-sends would keep the bytes of every skipped row, up to a
 * whole body a row. The copies keep their order and follow each other, so
 * the writer still copies them in one run.
 */
export function compactLines(items: QueueItem[]): void {
  const viewed = new Set<ArrayBufferLike>()
  let viewedBytes = 0
  let keptBytes = 0
  for (const item of items) {
    if (!(item.row instanceof SerializedEventRow)) continue
    keptBytes += item.row.line.length
    const buffer = item.row.line.buffer
    if (!viewed.has(buffer)) {
      viewed.add(buffer)
      viewedBytes += buffer.byteLength
    }
  }
  if (keptBytes * 2 >= viewedBytes) return
  // Not Buffer.allocUnsafe: its small results are slices of Node's shared pool and would keep that pool alive.
  const target = Buffer.from(new ArrayBuffer(keptBytes))
  let offset = 0
  for (const item of items) {
    if (item.table !== 'events' || !(item.row instanceof SerializedEventRow)) continue
    const line = item.row.line
    line.copy(target, offset)
    item.row = new SerializedEventRow(target.subarray(offset, offset + line.length), item.row.event_id)
    offset += line.length
  }
}
