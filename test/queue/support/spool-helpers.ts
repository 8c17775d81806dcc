import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { crc32 } from 'node:zlib'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import { loadConfig } from '../../../src/config/load.js'
import type { QueueConfig } from '../../../src/config/types.js'
import type { EventRow, QueueItem } from '../../../src/schema/event.js'
import { nodeSpoolFileSystem, type SpoolFile, type SpoolFileSystem } from '../../../src/queue/spool/files.js'
import { RECORD_HEADER_BYTES, RECORD_MAGIC, RecordType, type EncodedRecord } from '../../../src/queue/spool/record.js'
import { SpoolQueue } from '../../../src/queue/spool/spool-queue.js'

export async function makeTempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'siem-spool-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** Queue configuration with defaults, the spool in `dir`, and `queue` overrides in the file's shape. */
export function spoolConfig(dir: string, queue: Record<string, unknown> = {}): QueueConfig {
  const spool = (queue['spool'] ?? {}) as Record<string, unknown>
  const config = loadConfig({ env: {}, overrides: { queue: { ...queue, type: 'spool', spool: { ...spool, dir } } } })
  return config.queue
}

export function makeEvent(eventId: string): EventRow {
  return {
    event_id: eventId,
    tenant_id: 'acme',
    timestamp: '2024-06-01 12:00:00.000000',
    received_at: '2024-06-01 12:00:00.123456',
    source_product: 'boundary-daemon',
    source_host: 'host-1.example.com',
    source_instance_id: 'i-1234',
    source_version: '1.2.3',
    actor_type: 'user',
    actor_id: 'u-42',
    actor_name: 'Alice',
    actor_email: 'alice@example.com',
    actor_ip: '10.1.2.3',
    action: 'auth.login',
    target: 'ssh://db-1',
    outcome: 'success',
    severity: 3,
    schema_version: '1.0.0',
    raw: '{"event":"login","detail":"a raw payload of moderate length for the benchmark"}',
    metadata: '{"k":"v"}',
  }
}

/** `count` events with ids `<prefix>-<n>`, n from `start`. */
export function makeItems(prefix: string, count: number, start = 0): QueueItem[] {
  return Array.from({ length: count }, (_, i) => ({ table: 'events' as const, row: makeEvent(`${prefix}-${start + i}`) }))
}

export function eventIds(items: readonly QueueItem[]): string[] {
  return items.map((item) => (item.table === 'events' ? item.row.event_id : item.row.quarantine_id))
}

/**
 * Builds a data record as versions before the framed items wrote it: the items of
 * one enqueue as a JSON array after the 20-byte head, record type 1.
 */
export function legacyDataRecord(firstSeq: number, enqueuedAt: number, items: readonly QueueItem[]): Buffer {
  const json = Buffer.from(JSON.stringify(items))
  const record = Buffer.alloc(RECORD_HEADER_BYTES + 20 + json.length)
  record.writeUInt16LE(RECORD_MAGIC, 0)
  record.writeUInt8(RecordType.jsonData, 2)
  record.writeUInt32LE(20 + json.length, 4)
  record.writeDoubleLE(firstSeq, RECORD_HEADER_BYTES)
  record.writeDoubleLE(enqueuedAt, RECORD_HEADER_BYTES + 8)
  record.writeUInt32LE(items.length, RECORD_HEADER_BYTES + 16)
  json.copy(record, RECORD_HEADER_BYTES + 20)
  record.writeUInt32LE(crc32(record.subarray(RECORD_HEADER_BYTES), crc32(record.subarray(0, 8))), 8)
  return record
}

/** Returns an encoded record as one buffer, as it is on disk. */
export function recordBytes(record: EncodedRecord): Buffer {
  return Buffer.concat(record.parts, record.length)
}

/** Returns items as their JSON reads them, so that rows read back from the spool as lines compare equal to the rows enqueued. */
export function plainItems(items: readonly QueueItem[]): unknown {
  return JSON.parse(JSON.stringify(items))
}

/** A logger that keeps every line as a parsed object. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

/**
 * The node file system with counters and switchable faults: while
 * `writeError` is set, every write writes half its bytes and rejects with
 * that errno code; while `syncError` is set, every datasync rejects.
 */
export class FaultyFileSystem implements SpoolFileSystem {
  datasyncs = 0
  writes = 0
  writeError: string | null = null
  syncError: string | null = null

  private readonly inner = nodeSpoolFileSystem

  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir)
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(dir)
  }

  async openExisting(path: string): Promise<SpoolFile> {
    return this.wrap(await this.inner.openExisting(path))
  }

  async create(path: string): Promise<SpoolFile> {
    return this.wrap(await this.inner.create(path))
  }

  unlink(path: string): Promise<void> {
    return this.inner.unlink(path)
  }

  syncDirectory(dir: string): Promise<void> {
    return this.inner.syncDirectory(dir)
  }

  private fault(code: string | null): Error | null {
    if (code === null) return null
    return Object.assign(new Error(`injected ${code}`), { code })
  }

  private wrap(file: SpoolFile): SpoolFile {
    return {
      read: (buffer, position) => file.read(buffer, position),
      write: async (buffers, position) => {
        this.writes += 1
        const error = this.fault(this.writeError)
        if (error !== null) {
          // A failing disk may take part of the write before it fails.
          const bytes = Buffer.concat(buffers)
          await file.write([bytes.subarray(0, Math.floor(bytes.length / 2))], position)
          throw error
        }
        await file.write(buffers, position)
      },
      datasync: async () => {
        this.datasyncs += 1
        const error = this.fault(this.syncError ?? this.writeError)
        if (error !== null) throw error
        await file.datasync()
      },
      truncate: (length) => file.truncate(length),
      size: () => file.size(),
      close: () => file.close(),
    }
  }
}

export interface OpenSpool {
  queue: SpoolQueue
  registry: Registry
}

export async function openSpool(
  config: QueueConfig,
  options: { logger?: Logger; files?: SpoolFileSystem; resendWindow?: { windowMs: number; limit: number } } = {},
): Promise<OpenSpool> {
  const registry = new Registry()
  const queue = new SpoolQueue({
    config,
    logger: options.logger ?? silentLogger(),
    registry,
    ...(options.files === undefined ? {} : { files: options.files }),
    resendWindow: options.resendWindow,
  })
  await queue.start()
  return { queue, registry }
}

/** Sum of the values of metric `name`; `series` picks one series of a histogram, such as `<name>_count`. */
export async function metricValue(registry: Registry, name: string, series = name): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get()
  if (metric === undefined) throw new Error(`metric ${name} is not registered`)
  const values = metric.values.filter((value) => {
    const seriesName = (value as { metricName?: string }).metricName
    return seriesName === undefined || seriesName === series
  })
  return values.reduce((sum, value) => sum + value.value, 0)
}
