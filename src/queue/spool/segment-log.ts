import type { Logger } from '../../logger.js'
import { SiemError } from '../../errors.js'
import { SEGMENT_HEADER, segmentPath, type SpoolFile, type SpoolFileSystem } from './files.js'

/** One segment file; `size` counts the bytes written to it so far. */
export interface Segment {
  base: number
  path: string
  size: number
}

export interface RecordLocation {
  segment: Segment
  offset: number
  length: number
}

/** A record waiting for the next group write. */
export interface LogRecord {
  /** The record's bytes, in order; written with one vectored write. */
  parts: readonly Buffer[]
  length: number
  /** Highest event sequence number in the record, or -1 for a seal or commit record. */
  lastSeq: number
  /**
   * Whether a failed write keeps the record for the next attempt. Records of
   * enqueues not yet acknowledged are not kept: `failed` rejects them.
   */
  retry: boolean
  written(location: RecordLocation): void
  failed(error: SiemError): void
}

export interface SegmentLogOptions {
  dir: string
  segmentSize: number
  fsync: boolean
  groupCommitDelayMs: number
  retryDelayMs: number
  files: SpoolFileSystem
  logger: Logger
  observeFsync(seconds: number): void
  countWriteError(): void
}

/** Pending bytes that start a group write at once instead of after the group commit delay. */
const FLUSH_NOW_BYTES = 4 * 1024 * 1024

/**
 * The append side of the spool: collects records, writes each group with one
 * positional vectored write and one fdatasync, rotates segments and deletes the ones
 * every event of which is committed. A failed write keeps the log in a failed
 * state, retried every `retryDelayMs`, until a write succeeds.
 */
export class SegmentLog {
  readonly segments: Segment[] = []

  private active: { segment: Segment; file: SpoolFile } | null = null
  private pending: LogRecord[] = []
  private pendingBytes = 0
  /** Bytes of the group being written, counted until its segment's size includes them. */
  private flushingBytes = 0
  private firstPendingAt = 0
  private flushing: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private failure: SiemError | null = null
  /** The bytes past the active segment's size may hold a partial write. */
  private dirtyTail = false
  private directoryDirty = false
  private highSeq = -1
  private closing = false
  private deleting: Promise<void> = Promise.resolve()

  constructor(private readonly options: SegmentLogOptions) {}

  /**
   * Takes over the segments found on disk, in order. Writes go on at the end
   * of the last one when `appendFile` is given, else to a new segment.
   * `highSeq` is the highest event sequence number used so far.
   */
  open(segments: Segment[], appendFile: SpoolFile | null, highSeq: number): void {
    this.segments.push(...segments)
    const last = segments.at(-1)
    if (appendFile !== null && last !== undefined) this.active = { segment: last, file: appendFile }
    this.highSeq = highSeq
  }

  /** The error of the last failed write, until a write succeeds. */
  get failed(): SiemError | null {
    return this.failure
  }

  /** Bytes in segment files plus bytes waiting to be written or being written. */
  get bytes(): number {
    let total = this.pendingBytes + this.flushingBytes
    for (const segment of this.segments) total += segment.size
    return total
  }

  append(record: LogRecord): void {
    if (this.closing) throw new SiemError('SIEM_ERR_QUEUE_CLOSED', 'the spool is closed')
    if (this.pending.length === 0) this.firstPendingAt = Date.now()
    this.pending.push(record)
    this.pendingBytes += record.length
    this.schedule()
  }

  /** Deletes the oldest segments whose events all have sequence numbers below `watermark`. */
  deleteBelow(watermark: number): Promise<void> {
    this.deleting = this.deleting.then(() => this.deleteSegments(watermark))
    return this.deleting
  }

  /** Writes what is pending (one last attempt after a failure) and closes the active segment. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.flushing !== null) await this.flushing
    if (this.pending.length > 0) {
      this.startFlush()
      await this.flushing
    }
    const error = this.failure ?? new SiemError('SIEM_ERR_QUEUE_CLOSED', 'the spool closed before the record was written')
    for (const record of this.pending.splice(0)) record.failed(error)
    this.pendingBytes = 0
    await this.deleting
    if (this.active !== null) await this.active.file.close()
    this.active = null
  }

  private schedule(): void {
    if (this.flushing !== null || this.timer !== null || this.pending.length === 0 || this.closing) return
    // Neither timer is unref()'d: each runs only while records wait for a
    // write that must happen (acknowledged events, seals, commits), and
    // close() clears it.
    if (this.failure !== null) {
      this.timer = setTimeout(() => this.startFlush(), this.options.retryDelayMs)
      return
    }
    if (this.pendingBytes >= FLUSH_NOW_BYTES) {
      this.startFlush()
      return
    }
    const wait = Math.max(0, this.firstPendingAt + this.options.groupCommitDelayMs - Date.now())
    this.timer = setTimeout(() => this.startFlush(), wait)
  }

  private startFlush(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const group = this.pending
    this.pending = []
    this.flushingBytes = this.pendingBytes
    this.pendingBytes = 0
    this.flushing = this.flushGroup(group).finally(() => {
      this.flushing = null
      this.schedule()
    })
  }

  private async flushGroup(group: LogRecord[]): Promise<void> {
    let locations: RecordLocation[]
    try {
      locations = await this.writeGroup(group)
    } catch (err) {
      this.flushingBytes = 0
      this.failure = this.writeError(err)
      this.options.countWriteError()
      const retried = group.filter((record) => record.retry)
      for (const record of group) if (!record.retry) record.failed(this.failure)
      this.pending = retried.concat(this.pending)
      this.pendingBytes = this.pending.reduce((sum, record) => sum + record.length, 0)
      this.firstPendingAt = Date.now()
      return
    }
    this.flushingBytes = 0
    // Cleared before the callbacks run, so the callers they wake find the log working.
    if (this.failure !== null) {
      this.options.logger.info({ dir: this.options.dir }, 'spool writes work again')
      this.failure = null
    }
    for (const [index, record] of group.entries()) {
      if (record.lastSeq > this.highSeq) this.highSeq = record.lastSeq
      record.written(locations[index]!)
    }
  }

  private writeError(err: unknown): SiemError {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown'
    const path = this.active?.segment.path ?? this.options.dir
    const offset = this.active?.segment.size ?? 0
    const retryAfterSeconds = Math.max(1, Math.ceil(this.options.retryDelayMs / 1000))
    this.options.logger.error(
      { err, segment: path, offset, code, retry_in_ms: this.options.retryDelayMs },
      'spool write failed; new events are rejected until a retry succeeds',
    )
    return new SiemError('SIEM_ERR_SPOOL_WRITE', `writing the spool segment ${path} failed (${code})`, {
      cause: err,
      value: path,
      retryAfterSeconds,
    })
  }

  /** Writes and syncs a group; returns where each record went. */
  private async writeGroup(group: LogRecord[]): Promise<RecordLocation[]> {
    let bytes = 0
    for (const record of group) bytes += record.length
    const active = await this.activeSegment(bytes)
    const { segment, file } = active
    const headerBytes = segment.size === 0 ? SEGMENT_HEADER.length : 0
    const parts: Buffer[] = headerBytes > 0 ? [SEGMENT_HEADER] : []
    for (const record of group) parts.push(...record.parts)
    if (this.dirtyTail) await file.truncate(segment.size)
    this.dirtyTail = true
    await file.write(parts, segment.size)
    if (this.options.fsync) await this.sync(file)
    this.dirtyTail = false
    let offset = segment.size + headerBytes
    segment.size += headerBytes + bytes
    return group.map((record) => {
      const location = { segment, offset, length: record.length }
      offset += record.length
      return location
    })
  }

  private async sync(file: SpoolFile): Promise<void> {
    const started = process.hrtime.bigint()
    if (this.directoryDirty) {
      await this.options.files.syncDirectory(this.options.dir)
      this.directoryDirty = false
    }
    await file.datasync()
    this.options.observeFsync(Number(process.hrtime.bigint() - started) / 1e9)
  }

  /** The segment the next group goes to: a new one when the group would overflow the current one. */
  private async activeSegment(groupBytes: number): Promise<{ segment: Segment; file: SpoolFile }> {
    const current = this.active
    const full = current !== null && current.segment.size > SEGMENT_HEADER.length &&
      current.segment.size + groupBytes > this.options.segmentSize
    if (current !== null && !full) return current
    if (current !== null) {
      this.active = null
      await current.file.close()
    }
    const lastBase = this.segments.at(-1)?.base ?? -1
    const base = Math.max(this.highSeq + 1, lastBase + 1)
    const segment: Segment = { base, path: segmentPath(this.options.dir, base), size: 0 }
    const file = await this.options.files.create(segment.path)
    this.segments.push(segment)
    this.directoryDirty = true
    this.dirtyTail = false
    this.active = { segment, file }
    this.options.logger.debug({ segment: segment.path }, 'spool segment created')
    return this.active
  }

  private async deleteSegments(watermark: number): Promise<void> {
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!
      const next = this.segments[1]!
      if (next.base > watermark || oldest === this.active?.segment) return
      try {
        await this.options.files.unlink(oldest.path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.options.logger.warn({ err, segment: oldest.path }, 'deleting a committed spool segment failed; retried after the next commit')
          return
        }
      }
      this.segments.shift()
      this.directoryDirty = true
      this.options.logger.debug({ segment: oldest.path }, 'committed spool segment deleted')
    }
  }
}
