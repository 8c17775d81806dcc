import type { Logger } from '../../logger.js'
import type { AcceptedEventId, QueueItem } from '../../schema/event.js'
import { estimateItemBytes } from '../types.js'
import { reportDamage } from './damage.js'
import { SEGMENT_HEADER, parseSegmentFileName, segmentPath, type SpoolFile, type SpoolFileSystem } from './files.js'
import { RecordType, decodeCommitRecord, decodeDataHeader, decodeDataItems, decodeSealRecord, isDataRecord, type SealRecord } from './record.js'
import type { ParsedRecord } from './record-parser.js'
import { readRecords } from './record-reader.js'
import type { Segment } from './segment-log.js'
import type { Backlog, OpenBatch, ResidentItem } from './state.js'

export interface ReplayOptions {
  dir: string
  files: SpoolFileSystem
  logger: Logger
  maxEvents: number
  maxBytes: number
  /**
   * Collect the sender-chosen ids of `events` rows enqueued at or after
   * `since` (ms since the epoch), at most the `limit` newest. Off when
   * undefined.
   */
  recent?: { since: number; limit: number } | undefined
  countDamaged(): void
}

/** What a start-up scan of the spool found. */
export interface ReplayResult {
  segments: Segment[]
  /** The last segment, opened to append to, or null when there is none. */
  appendFile: SpoolFile | null
  nextSeq: number
  /** Batches sealed and not committed, in sequence order, to be handed out again with the same ids. */
  sealed: OpenBatch[]
  /** Events in no batch, in sequence order, loaded up to the in-memory bound. */
  ready: ResidentItem[]
  backlog: Backlog | null
  /** Sender-chosen ids of `events` rows in records not wholly committed and enqueued within `recent`, oldest first. */
  recentIds: AcceptedEventId[]
}

interface ScanResult {
  seals: Map<string, SealRecord>
  commits: Set<string>
  maxSeq: number
}

type Range = { firstSeq: number; lastSeq: number }

async function listSegments(options: ReplayOptions): Promise<Segment[]> {
  const segments: Segment[] = []
  for (const name of await options.files.list(options.dir)) {
    const base = parseSegmentFileName(name)
    if (base !== null) segments.push({ base, path: segmentPath(options.dir, base), size: 0 })
  }
  return segments.sort((a, b) => a.base - b.base)
}

/** Reports a segment whose header is not the spool's magic; its records are read all the same. */
async function checkHeader(file: SpoolFile, segment: Segment, options: ReplayOptions): Promise<void> {
  if (segment.size === 0) return
  const header = Buffer.alloc(SEGMENT_HEADER.length)
  const bytesRead = await file.read(header, 0)
  if (bytesRead === SEGMENT_HEADER.length && header.equals(SEGMENT_HEADER)) return
  options.countDamaged()
  reportDamage(options.logger, segment.path, {
    kind: 'damaged',
    offset: 0,
    length: Math.min(bytesRead, SEGMENT_HEADER.length),
    reason: 'bad segment header',
  })
}

function scanRecord(record: ParsedRecord, scan: ScanResult): void {
  if (isDataRecord(record.type)) {
    const header = decodeDataHeader(record.payload)
    scan.maxSeq = Math.max(scan.maxSeq, header.firstSeq + header.count - 1)
  } else if (record.type === RecordType.seal) {
    const seal = decodeSealRecord(record.payload)
    scan.seals.set(seal.id, seal)
  } else {
    scan.commits.add(decodeCommitRecord(record.payload))
  }
}

/**
 * First pass: checks every record, reports damage, truncates a torn tail of
 * the last segment, and collects seal and commit records.
 */
async function scanSegments(segments: Segment[], options: ReplayOptions): Promise<{ scan: ScanResult; appendFile: SpoolFile | null }> {
  const scan: ScanResult = { seals: new Map(), commits: new Set(), maxSeq: -1 }
  let appendFile: SpoolFile | null = null
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1
    const file = await options.files.openExisting(segment.path)
    segment.size = await file.size()
    await checkHeader(file, segment, options)
    let validEnd = SEGMENT_HEADER.length
    await readRecords(file, SEGMENT_HEADER.length, segment.size, (entry) => {
      if (entry.kind === 'damaged') {
        options.countDamaged()
        reportDamage(options.logger, segment.path, entry)
        return
      }
      validEnd = entry.offset + entry.length
      scanRecord(entry, scan)
    })
    if (last) {
      await truncateTornTail(file, segment, validEnd, options)
      appendFile = file
    } else {
      await file.close()
    }
  }
  return { scan, appendFile }
}

async function truncateTornTail(file: SpoolFile, segment: Segment, validEnd: number, options: ReplayOptions): Promise<void> {
  const keep = segment.size < SEGMENT_HEADER.length ? 0 : validEnd
  if (keep >= segment.size) return
  await file.truncate(keep)
  options.logger.warn(
    { segment: segment.path, offset: keep, length: segment.size - keep },
    'spool segment cut at its last valid record so new records append cleanly',
  )
  segment.size = keep
}

function containing(ranges: Range[], seq: number): Range | undefined {
  let low = 0
  let high = ranges.length - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    const range = ranges[middle]!
    if (seq < range.firstSeq) high = middle - 1
    else if (seq > range.lastSeq) low = middle + 1
    else return range
  }
  return undefined
}

class ReplayCollector {
  readonly ready: ResidentItem[] = []
  backlog: Backlog | null = null
  readonly recent: RecentIdCollector | undefined
  private residentEvents = 0
  private residentBytes = 0
  private readonly batches: Map<string, OpenBatch>
  private readonly sealedRanges: SealRecord[]
  private readonly committedRanges: Range[]
  private readonly maxRangeSeq: number

  constructor(
    scan: ScanResult,
    private readonly options: ReplayOptions,
  ) {
    const open: SealRecord[] = []
    this.committedRanges = []
    for (const seal of scan.seals.values()) {
      if (scan.commits.has(seal.id)) this.committedRanges.push(seal)
      else open.push(seal)
    }
    this.committedRanges.sort((a, b) => a.firstSeq - b.firstSeq)
    this.sealedRanges = open.sort((a, b) => a.firstSeq - b.firstSeq)
    this.batches = new Map(open.map((seal) => [seal.id, { id: seal.id, firstSeq: seal.firstSeq, lastSeq: seal.lastSeq, items: [], bytes: 0 }]))
    let maxRangeSeq = -1
    for (const seal of scan.seals.values()) maxRangeSeq = Math.max(maxRangeSeq, seal.lastSeq)
    this.maxRangeSeq = maxRangeSeq
    this.recent = options.recent === undefined ? undefined : new RecentIdCollector(options.recent.since, options.recent.limit)
  }

  sealedBatches(): OpenBatch[] {
    return [...this.batches.values()]
  }

  /** Sorts the items of one data record into sealed batches, memory, or the backlog. */
  add(record: ParsedRecord, segment: Segment): void {
    const header = decodeDataHeader(record.payload)
    const lastSeq = header.firstSeq + header.count - 1
    const committed = containing(this.committedRanges, header.firstSeq)
    if (committed !== undefined && committed.lastSeq >= lastSeq) return
    // The items are parsed only when memory takes them or the re-send window needs their ids.
    let items: QueueItem[] | undefined
    if (this.recent?.wants(header.enqueuedAt) === true) {
      items = decodeDataItems(record.payload, record.type)
      this.recent.add(items, header.enqueuedAt)
    }
    if (this.backlog !== null) {
      this.extendBacklog(header.count, record, segment)
      return
    }
    const full = this.residentEvents >= this.options.maxEvents || this.residentBytes >= this.options.maxBytes
    if (full && header.firstSeq > this.maxRangeSeq) {
      this.backlog = {
        cursor: { segment, offset: record.offset },
        end: { segment, offset: record.offset + record.length },
        fromSeq: header.firstSeq,
        events: header.count,
        firstEnqueuedAt: header.enqueuedAt,
      }
      return
    }
    items ??= decodeDataItems(record.payload, record.type)
    this.load(items, header.firstSeq, header.enqueuedAt)
  }

  private extendBacklog(count: number, record: ParsedRecord, segment: Segment): void {
    const backlog = this.backlog!
    backlog.events += count
    backlog.end = { segment, offset: record.offset + record.length }
  }

  private load(items: QueueItem[], firstSeq: number, enqueuedAt: number): void {
    for (const [index, item] of items.entries()) {
      const seq = firstSeq + index
      if (containing(this.committedRanges, seq) !== undefined) continue
      const resident: ResidentItem = { seq, item, enqueuedAt, bytes: estimateItemBytes(item) }
      this.residentEvents += 1
      this.residentBytes += resident.bytes
      const sealed = containing(this.sealedRanges, seq) as SealRecord | undefined
      const batch = sealed === undefined ? undefined : this.batches.get(sealed.id)
      if (batch === undefined) {
        this.ready.push(resident)
      } else {
        batch.items.push(resident)
        batch.bytes += resident.bytes
      }
    }
  }
}

/**
 * Ids that senders chose of `events` rows enqueued at or after `since`,
 * keeping the `limit` newest. Records arrive in the order they were
 * written, which is the order of their enqueue times.
 */
class RecentIdCollector {
  #ids: AcceptedEventId[] = []

  constructor(
    private readonly since: number,
    private readonly limit: number,
  ) {}

  wants(enqueuedAt: number): boolean {
    return this.limit > 0 && enqueuedAt >= this.since
  }

  add(items: readonly QueueItem[], enqueuedAt: number): void {
    for (const item of items) {
      // A record written before rows had id_from_sender counts its ids as the sender's.
      if (item.table === 'events' && item.row.id_from_sender !== false) this.#ids.push({ tenantId: item.row.tenant_id, eventId: item.row.event_id, acceptedAt: enqueuedAt })
    }
    // Dropping the oldest half at a time keeps the cost of the copy to about one move an id.
    if (this.#ids.length >= 2 * this.limit) this.#ids = this.#ids.slice(this.#ids.length - this.limit)
  }

  ids(): AcceptedEventId[] {
    return this.#ids.length > this.limit ? this.#ids.slice(this.#ids.length - this.limit) : this.#ids
  }
}

/** Second pass: loads the events that are not committed. */
async function collectEvents(segments: Segment[], scan: ScanResult, options: ReplayOptions): Promise<ReplayCollector> {
  const collector = new ReplayCollector(scan, options)
  for (const segment of segments) {
    const file = await options.files.openExisting(segment.path)
    try {
      await readRecords(file, SEGMENT_HEADER.length, segment.size, (entry) => {
        if (entry.kind === 'record' && isDataRecord(entry.type)) collector.add(entry, segment)
      })
    } finally {
      await file.close()
    }
  }
  return collector
}

function checkSealedBatches(batches: OpenBatch[], scan: ScanResult, logger: Logger): OpenBatch[] {
  const kept: OpenBatch[] = []
  for (const batch of batches) {
    const expected = scan.seals.get(batch.id)?.count ?? 0
    if (batch.items.length < expected) {
      logger.warn(
        { batch_id: batch.id, events: batch.items.length, expected },
        'sealed spool batch lost events to damaged records; handing out what remains under the same id',
      )
    }
    if (batch.items.length > 0) kept.push(batch)
  }
  return kept
}

/**
 * Scans the spool directory in two passes: the first checks every record
 * and finds the seal and commit records, the second loads every event that
 * is not in a committed batch.
 */
export async function replaySpool(options: ReplayOptions): Promise<ReplayResult> {
  await options.files.mkdir(options.dir)
  const segments = await listSegments(options)
  const { scan, appendFile } = await scanSegments(segments, options)
  const collector = await collectEvents(segments, scan, options)
  const lastBase = segments.at(-1)?.base ?? 0
  return {
    segments,
    appendFile,
    nextSeq: Math.max(scan.maxSeq + 1, lastBase),
    sealed: checkSealedBatches(collector.sealedBatches(), scan, options.logger),
    ready: collector.ready,
    backlog: collector.backlog,
    recentIds: collector.recent?.ids() ?? [],
  }
}
