import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SEGMENT_HEADER, nodeSpoolFileSystem, segmentPath, type SpoolFileSystem } from '../../src/queue/spool/files.js'
import { parseRecords, type ParsedRecord } from '../../src/queue/spool/record-parser.js'
import type { SpoolQueue } from '../../src/queue/spool/spool-queue.js'
import type { Batch } from '../../src/queue/types.js'
import type { QuarantineRow, QueueItem } from '../../src/schema/event.js'
import {
  eventIds,
  legacyDataRecord,
  makeEvent,
  makeItems,
  makeTempDir,
  metricValue,
  openSpool,
  plainItems,
  recordingLogger,
  spoolConfig,
} from './support/spool-helpers.js'

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('segment-')).sort().map((name) => join(dir, name))
}

async function recordsOf(path: string): Promise<ParsedRecord[]> {
  const buffer = await readFile(path)
  const { entries } = parseRecords(buffer.subarray(SEGMENT_HEADER.length), SEGMENT_HEADER.length, true)
  return entries.filter((entry): entry is ParsedRecord => entry.kind === 'record')
}

/** Takes and commits batches until the spool is empty; returns the event ids in order. */
async function drainAll(queue: SpoolQueue, maxItems = 1000): Promise<string[]> {
  queue.drain()
  const ids: string[] = []
  while (queue.stats().depthEvents > 0) {
    const batch = await queue.take(maxItems, 0)
    assert.ok(batch !== null)
    ids.push(...eventIds(batch.items))
    await queue.commit(batch.id)
  }
  return ids
}

function quarantineRow(): QuarantineRow {
  return {
    quarantine_id: '00000000-0000-4000-8000-000000000001',
    quarantined_at: '2026-04-15 10:00:00.000000',
    tenant_id: 'acme',
    raw_event: '{"broken":',
    source_ip: '127.0.0.1',
    source_format: 'json',
    validation_errors: ['<root>: not JSON (malformed_json)'],
    error_code: 'malformed_json',
  }
}

function range(prefix: string, count: number, start = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${start + i}`)
}

describe('SpoolQueue replay', () => {
  test('uncommitted batch keeps its id after restart', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir)
    const first = await openSpool(config)
    await first.queue.enqueue(makeItems('a', 10), { ack: 'durable' })
    const kept = await first.queue.take(4, 3_600_000)
    const committed = await first.queue.take(3, 3_600_000)
    await first.queue.commit(committed!.id)
    await first.queue.close()

    const second = await openSpool(config)
    try {
      const replayed = await second.queue.take(100, 3_600_000)
      assert.equal(replayed!.id, kept!.id)
      assert.deepEqual(plainItems(replayed!.items), plainItems(kept!.items))
      assert.equal(await metricValue(second.registry, 'siem_spool_replayed_batches_total'), 1)
      second.queue.drain()
      const rest = await second.queue.take(100, 0)
      assert.notEqual(rest!.id, kept!.id)
      assert.deepEqual(eventIds(rest!.items), range('a', 3, 7))
    } finally {
      await second.queue.close()
      await temp.remove()
    }
  })

  test('committed batches are not replayed', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir)
    const first = await openSpool(config)
    await first.queue.enqueue(makeItems('a', 5), { ack: 'durable' })
    const batch = await first.queue.take(5, 3_600_000)
    await first.queue.commit(batch!.id)
    await first.queue.close()

    const second = await openSpool(config)
    try {
      assert.equal(second.queue.stats().depthEvents, 0)
      assert.equal(await metricValue(second.registry, 'siem_spool_replayed_batches_total'), 0)
    } finally {
      await second.queue.close()
      await temp.remove()
    }
  })

  test('events in no batch are replayed in order', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir)
    const first = await openSpool(config)
    await first.queue.enqueue(makeItems('a', 3), { ack: 'durable' })
    await first.queue.enqueue(makeItems('b', 3), { ack: 'memory' })
    await first.queue.close()

    const second = await openSpool(config)
    try {
      assert.deepEqual(await drainAll(second.queue), [...range('a', 3), ...range('b', 3)])
    } finally {
      await second.queue.close()
      await temp.remove()
    }
  })

  test('committed segments are deleted', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir, { spool: { segment_size: '4KiB' } })
    const { queue, registry } = await openSpool(config)
    try {
      for (let i = 0; i < 20; i++) await queue.enqueue(makeItems(`r${i}`, 2), { ack: 'durable' })
      const before = (await segmentFiles(temp.dir)).length
      assert.ok(before >= 5, `${before} segments`)
      assert.equal(await metricValue(registry, 'siem_spool_segments'), before)
      const ids = await drainAll(queue, 7)
      assert.equal(ids.length, 40)
      // One more write rotates the last full segment out, so it can go too.
      await queue.enqueue(makeItems('last', 2), { ack: 'durable' })
      await drainAll(queue)
      const after = await segmentFiles(temp.dir)
      assert.ok(after.length <= 2, `${after.length} segments left`)
      assert.equal(await metricValue(registry, 'siem_spool_segments'), after.length)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('torn tail is reported, cut off and appended after', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir)
    const first = await openSpool(config)
    for (const prefix of ['a', 'b', 'c']) await first.queue.enqueue(makeItems(prefix, 2), { ack: 'durable' })
    await first.queue.close()
    const [segment] = await segmentFiles(temp.dir)
    const records = await recordsOf(segment!)
    const last = records.at(-1)!
    await truncate(segment!, last.offset + last.length - 5)

    const log = recordingLogger()
    const second = await openSpool(config, { logger: log.logger })
    const damage = log.lines.filter((line) => line['msg'] === 'damaged spool record skipped')
    assert.equal(damage.length, 1)
    assert.equal(damage[0]!['segment'], segment)
    assert.equal(damage[0]!['offset'], last.offset)
    assert.equal(await metricValue(second.registry, 'siem_spool_damaged_records_total'), 1)
    assert.equal((await stat(segment!)).size, last.offset)
    await second.queue.enqueue(makeItems('d', 2), { ack: 'durable' })
    await second.queue.close()

    const log3 = recordingLogger()
    const third = await openSpool(config, { logger: log3.logger })
    try {
      assert.equal(log3.lines.filter((line) => line['msg'] === 'damaged spool record skipped').length, 0)
      assert.deepEqual(await drainAll(third.queue), [...range('a', 2), ...range('b', 2), ...range('d', 2)])
    } finally {
      await third.queue.close()
      await temp.remove()
    }
  })

  for (const where of ['payload', 'length field'] as const) {
    test(`flipped byte in a record's ${where} skips only that record`, async () => {
      const temp = await makeTempDir()
      const config = spoolConfig(temp.dir)
      const first = await openSpool(config)
      for (const prefix of ['a', 'b', 'c']) await first.queue.enqueue(makeItems(prefix, 2), { ack: 'durable' })
      await first.queue.close()
      const [segment] = await segmentFiles(temp.dir)
      const damaged = (await recordsOf(segment!))[1]!
      const bytes = await readFile(segment!)
      const position = where === 'payload' ? damaged.offset + Math.floor(damaged.length / 2) : damaged.offset + 6
      bytes[position] = bytes[position]! ^ 0x10
      await writeFile(segment!, bytes)

      const log = recordingLogger()
      const second = await openSpool(config, { logger: log.logger })
      try {
        const damage = log.lines.filter((line) => line['msg'] === 'damaged spool record skipped')
        assert.equal(damage.length, 1)
        assert.equal(damage[0]!['segment'], segment)
        assert.equal(damage[0]!['offset'], damaged.offset)
        assert.equal(damage[0]!['length'], damaged.length)
        assert.deepEqual(await drainAll(second.queue), [...range('a', 2), ...range('c', 2)])
      } finally {
        await second.queue.close()
        await temp.remove()
      }
    })
  }

  test('due batch waits for refill without timers', async () => {
    const temp = await makeTempDir()
    // Reads of segment files wait while `gate` is set, so the backlog refill stays in progress.
    let gate: Promise<void> | undefined
    const files: SpoolFileSystem = {
      ...nodeSpoolFileSystem,
      openExisting: async (path) => {
        const file = await nodeSpoolFileSystem.openExisting(path)
        return {
          read: async (buffer, position) => {
            await gate
            return file.read(buffer, position)
          },
          write: (buffer, position) => file.write(buffer, position),
          datasync: () => file.datasync(),
          truncate: (length) => file.truncate(length),
          size: () => file.size(),
          close: () => file.close(),
        }
      },
    }
    const config = spoolConfig(temp.dir, { max_events: 10, spool: { segment_size: '8KiB' } })
    const { queue } = await openSpool(config, { files })
    const realSetTimeout = globalThis.setTimeout
    let release: () => void = () => {}
    try {
      for (let i = 0; i < 10; i++) await queue.enqueue(makeItems('a', 5, i * 5), { ack: 'durable' })
      gate = new Promise((resolve) => {
        release = resolve
      })
      const first = await queue.take(4, 3_600_000)
      assert.ok(first !== null)
      // Freeing 4 events starts the refill, which the gate holds.
      await queue.commit(first.id)
      let timers = 0
      globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
        timers++
        return realSetTimeout(...args)
      }) as typeof setTimeout
      // 6 events wait and are due at once, but the batch waits for the refill.
      const second = queue.take(20, 0)
      await new Promise((resolve) => realSetTimeout(resolve, 100))
      globalThis.setTimeout = realSetTimeout
      assert.ok(timers <= 2, `${timers} timers were set while the refill was held`)
      release()
      const batch = await second
      assert.ok(batch !== null)
      assert.ok(batch.items.length >= 6)
    } finally {
      globalThis.setTimeout = realSetTimeout
      // close() waits for the refill, which waits for the gate.
      release()
      await queue.close()
      await temp.remove()
    }
  })

  test('events beyond the in-memory bound wait on disk', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir, { max_events: 10, spool: { segment_size: '8KiB' } })
    const { queue, registry } = await openSpool(config)
    try {
      for (let i = 0; i < 10; i++) await queue.enqueue(makeItems('a', 5, i * 5), { ack: 'durable' })
      assert.equal(queue.stats().depthEvents, 50)
      assert.equal(await metricValue(registry, 'siem_spool_backlog_events'), 40)
      assert.deepEqual(await drainAll(queue, 4), range('a', 50))
      assert.equal(await metricValue(registry, 'siem_spool_backlog_events'), 0)
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('backlog and open batches are replayed after restart', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir, { max_events: 10, spool: { segment_size: '8KiB' } })
    const first = await openSpool(config)
    for (let i = 0; i < 10; i++) await first.queue.enqueue(makeItems('a', 5, i * 5), { ack: 'durable' })
    const open: Batch[] = []
    for (let i = 0; i < 2; i++) open.push((await first.queue.take(3, 3_600_000))!)
    await first.queue.close()

    const second = await openSpool(config)
    try {
      assert.equal(second.queue.stats().depthEvents, 50)
      for (const batch of open) {
        const replayed = await second.queue.take(100, 3_600_000)
        assert.equal(replayed!.id, batch.id)
        assert.deepEqual(plainItems(replayed!.items), plainItems(batch.items))
        await second.queue.commit(replayed!.id)
      }
      assert.deepEqual(await drainAll(second.queue, 7), range('a', 44, 6))
    } finally {
      await second.queue.close()
      await temp.remove()
    }
  })

  test('records written with JSON items are replayed', async () => {
    // Versions before the framed items wrote each enqueue as a JSON array (record type 1).
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir, { max_events: 10 })
    const enqueues = [0, 1, 2, 3].map((i) => makeItems('old', 5, i * 5))
    const quarantine: QueueItem = { table: 'quarantine', row: quarantineRow() }
    const records = enqueues.map((items, i) => legacyDataRecord(i * 5, Date.now(), items))
    records.push(legacyDataRecord(20, Date.now(), [quarantine]))
    await writeFile(segmentPath(temp.dir, 0), Buffer.concat([SEGMENT_HEADER, ...records]))
    const { queue, registry } = await openSpool(config)
    try {
      // Ten events fit in memory, so the later records are read from the backlog.
      assert.equal(await metricValue(registry, 'siem_spool_backlog_events'), 11)
      await queue.enqueue(makeItems('new', 2), { ack: 'durable' })
      queue.drain()
      const items: QueueItem[] = []
      while (queue.stats().depthEvents > 0) {
        const batch = await queue.take(4, 0)
        items.push(...batch!.items)
        await queue.commit(batch!.id)
      }
      assert.deepEqual(plainItems(items), plainItems([...enqueues.flat(), quarantine, ...makeItems('new', 2)]))
    } finally {
      await queue.close()
      await temp.remove()
    }
  })

  test('replay lists recent uncommitted ids', async () => {
    const temp = await makeTempDir()
    // Ten events fit in memory, so the later records stay in the backlog on disk.
    const config = spoolConfig(temp.dir, { max_events: 10, spool: { segment_size: '8KiB' } })
    const first = await openSpool(config)
    const realNow = Date.now
    try {
      // Enqueue times come from Date.now: the first record is older than the window.
      Date.now = () => realNow() - 120_000
      await first.queue.enqueue(makeItems('old', 5), { ack: 'durable' })
      Date.now = realNow
      for (let i = 0; i < 6; i++) await first.queue.enqueue(makeItems('new', 5, i * 5), { ack: 'durable' })
      await first.queue.enqueue([{ table: 'quarantine', row: quarantineRow() }], { ack: 'durable' })
      // The server generated this id, so no re-send can carry it.
      await first.queue.enqueue([{ table: 'events', row: { ...makeEvent('generated-0'), id_from_sender: false } }], { ack: 'durable' })
      const committed = await first.queue.take(5, 3_600_000)
      assert.deepEqual(eventIds(committed!.items), range('old', 5))
      await first.queue.commit(committed!.id)
      const sealed = await first.queue.take(5, 3_600_000)
      assert.deepEqual(eventIds(sealed!.items), range('new', 5))
    } finally {
      Date.now = realNow
      await first.queue.close()
    }

    const windowMs = 60_000
    const second = await openSpool(config, { resendWindow: { windowMs, limit: 1000 } })
    try {
      const ids = second.queue.takeReplayedIds()
      // The sealed batch is uncommitted, so its ids count too. The committed one is in ClickHouse.
      assert.deepEqual(
        ids.map((id) => id.eventId),
        range('new', 30),
      )
      assert.ok(ids.every((id) => id.tenantId === 'acme' && Math.abs(id.acceptedAt - Date.now()) < windowMs))
      assert.ok((await metricValue(second.registry, 'siem_spool_backlog_events')) > 0, 'part of the events stayed in the backlog')
      assert.deepEqual(second.queue.takeReplayedIds(), [], 'a second call returns none')
      assert.equal((await drainAll(second.queue)).length, 32)
    } finally {
      await second.queue.close()
    }

    const third = await openSpool(config, { resendWindow: { windowMs, limit: 7 } })
    try {
      assert.deepEqual(third.queue.takeReplayedIds(), [], 'every event was committed')
    } finally {
      await third.queue.close()
      await temp.remove()
    }
  })

  test('replay keeps newest ids over limit', async () => {
    const temp = await makeTempDir()
    const config = spoolConfig(temp.dir)
    const first = await openSpool(config)
    for (let i = 0; i < 8; i++) await first.queue.enqueue(makeItems('e', 5, i * 5), { ack: 'durable' })
    await first.queue.close()
    const second = await openSpool(config, { resendWindow: { windowMs: 60_000, limit: 7 } })
    try {
      assert.deepEqual(
        second.queue.takeReplayedIds().map((id) => id.eventId),
        range('e', 7, 33),
      )
    } finally {
      await second.queue.close()
      await temp.remove()
    }
  })
})
