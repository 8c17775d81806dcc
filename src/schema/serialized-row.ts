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

/** The text every line a validator's row serializes to starts with: its first column is the event id. */
const ID_PREFIX = Buffer.from('{"event_id":"', 'latin1')
/** Bytes of an event id in its canonical UUID text. */
const UUID_BYTES = 36
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * An `events` row known by its JSON text, as a preparation worker sends it
 * to the main thread. The text stays in UTF-8 bytes outside the JavaScript
 * heap: the row's line is the bytes from `start` to `end` of `bytes`, the
 * buffer the worker filled with the rows of one body, one JSON line each.
 * The spool copies those bytes into its record and the writer into its
 * insert, so the hot path reads only the offsets, and no row text passes
 * through a string or the garbage collector. Any other column parses the
 * text once, on first read; that happens only on rare paths, such as a row
 * ClickHouse refused.
 *
 * A row keeps no view and no id string of its own, because rows wait in the
 * queue for seconds and every object they refer to is copied by each young
 * garbage collection until it is promoted. The event id is read from the
 * line, where the validator puts it first, each time it is asked for.
 */
export class SerializedEventRow {
  /** The buffer that contains this row's line, shared with the other rows of its body. */
  readonly bytes: Buffer
  /** First byte of the line in `bytes`. */
  readonly start: number
  /** Byte after the line's newline in `bytes`. */
  readonly end: number
  /** The event id, given only when the line may not start with it. */
  readonly #eventId: string | undefined
  /** Whether the line starts with the event id as its first column, checked once here. */
  readonly #idInLine: boolean
  #parsed: EventRow | undefined

  /** `eventId` is for a line that does not start with its id; without it, the id is read from the line. */
  constructor(bytes: Buffer, start: number, end: number, eventId?: string) {
    this.bytes = bytes
    this.start = start
    this.end = end
    this.#eventId = eventId
    this.#idInLine = eventId === undefined && lineHasEventId(bytes, start, end)
  }

  /** A row of its own line; `json` is the text without the newline. */
  static fromJson(json: string, eventId?: string): SerializedEventRow {
    const line = Buffer.from(`${json}\n`)
    return new SerializedEventRow(line, 0, line.length, eventId)
  }

  /** The row's JSON text in UTF-8, followed by one newline, as a view: a line of JSONEachRow. */
  get line(): Buffer {
    return this.bytes.subarray(this.start, this.end)
  }

  /** Size of the JSON text in bytes, without the newline. */
  get jsonBytes(): number {
    return this.end - this.start - 1
  }

  /** The JSON text, decoded anew at each read. */
  get json(): string {
    return this.bytes.toString('utf8', this.start, this.end - 1)
  }

  get event_id(): string {
    if (this.#idInLine) {
      const from = this.start + ID_PREFIX.length
      return this.bytes.toString('latin1', from, from + UUID_BYTES)
    }
    return this.#eventId ?? this.toJSON().event_id
  }

  /** Byte length of the event id in UTF-8. */
  get eventIdBytes(): number {
    return this.#idInLine ? UUID_BYTES : Buffer.byteLength(this.event_id)
  }

  /** Writes the event id in UTF-8 at `offset` of `target` without making a string of it; returns the bytes written. */
  writeEventId(target: Buffer, offset: number): number {
    if (!this.#idInLine) return target.write(this.event_id, offset, 'utf8')
    const from = this.start + ID_PREFIX.length
    return this.bytes.copy(target, offset, from, from + UUID_BYTES)
  }

  /** Copies the line to `offset` of `target` and returns the row that reads it there, with the same event id. */
  copyTo(target: Buffer, offset: number): SerializedEventRow {
    const end = offset + this.bytes.copy(target, offset, this.start, this.end)
    return new SerializedEventRow(target, offset, end, this.#eventId)
  }

  /** Returns the row as a plain object, so JSON.stringify of this row gives `json` again. */
  toJSON(): EventRow {
    this.#parsed ??= JSON.parse(this.json) as EventRow
    return this.#parsed
  }
}

/**
 * Returns whether the line starts with `{"event_id":"`, then 36 ASCII bytes with
 * no quote or backslash, then a quote: the id is then those bytes as they are.
 */
function lineHasEventId(bytes: Buffer, start: number, end: number): boolean {
  const from = start + ID_PREFIX.length
  if (from + UUID_BYTES >= end || bytes[from + UUID_BYTES] !== QUOTE) return false
  for (let index = 0; index < ID_PREFIX.length; index++) if (bytes[start + index] !== ID_PREFIX[index]) return false
  for (let index = from; index < from + UUID_BYTES; index++) {
    const byte = bytes[index] as number
    if (byte >= 0x80 || byte === QUOTE || byte === BACKSLASH) return false
  }
  return true
}

/**
 * Returns whether the line from `start` to `end` of `bytes` starts with the event
 * id that is at `idStart` to `idEnd` of the same buffer, so a row read back
 * from there need not keep the id apart.
 */
export function lineStartsWithId(bytes: Buffer, start: number, end: number, idStart: number, idEnd: number): boolean {
  if (idEnd - idStart !== UUID_BYTES || !lineHasEventId(bytes, start, end)) return false
  const from = start + ID_PREFIX.length
  for (let index = 0; index < UUID_BYTES; index++) if (bytes[from + index] !== bytes[idStart + index]) return false
  return true
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
    keptBytes += item.row.end - item.row.start
    const buffer = item.row.bytes.buffer
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
    const copy = item.row.copyTo(target, offset)
    item.row = copy
    offset = copy.end
  }
}
