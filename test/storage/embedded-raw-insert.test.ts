import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import type { ChdbConnection } from 'chdb/connection'
import type { Storage } from '../../src/storage/client.js'
import { EmbeddedConnection } from '../../src/storage/embedded-connection.js'
import { classifyInsertError } from '../../src/storage/retry-policy.js'
import { insertSettings } from '../../src/storage/row-sink.js'
import { closeTestStorage, openTestStorage, readRows } from '../support/storage.js'

describe('embedded insert of a byte body', () => {
  const root = mkdtempSync(join(tmpdir(), 'siem-raw-insert-'))
  let storage: Storage

  before(async () => {
    storage = await openTestStorage(root)
    await storage.client.command({
      query: 'CREATE TABLE t (id UInt32, s String) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100',
    })
  })
  after(async () => closeTestStorage(storage, root))

  async function insert(body: Buffer | string, token: string): Promise<void> {
    const result = await storage.client.exec({
      query: 'INSERT INTO t FORMAT JSONEachRow',
      values: Readable.from([body]),
      clickhouse_settings: insertSettings(token),
    })
    for await (const chunk of result.stream) void chunk
  }

  async function count(): Promise<number> {
    const rows = await readRows<{ n: string }>(storage.client, 'SELECT count() AS n FROM t')
    return Number(rows[0]?.n)
  }

  test('stores UTF-8 rows once per token', async () => {
    await insert(Buffer.from('{"id":1,"s":"naïve 日本語 🔐"}\n{"id":2,"s":"b"}\n'), 'batch-1')
    await insert(Buffer.from('{"id":1,"s":"naïve 日本語 🔐"}\n{"id":2,"s":"b"}\n'), 'batch-1')
    assert.equal(await count(), 2)
    const rows = await readRows<{ s: string }>(storage.client, 'SELECT s FROM t WHERE id = 1')
    assert.equal(rows[0]?.s, 'naïve 日本語 🔐')
  })

  test('token stays scoped to its insert', async () => {
    const rows = await readRows<{ token: string }>(storage.client, "SELECT getSetting('insert_deduplication_token') AS token")
    assert.equal(rows[0]?.token, '')
  })

  test('string body takes the same path', async () => {
    await insert('{"id":3,"s":"c"}\n', 'batch-3')
    assert.equal(await count(), 3)
  })

  test('blank body succeeds and stores nothing', async () => {
    await insert(Buffer.from('\n \n'), 'batch-blank')
    assert.equal(await count(), 3)
  })

  test('rejected row is a row-data error', async () => {
    const err = await insert(Buffer.from('{"id":4,"s":"d"}\n{"id":"not a number","s":"e"}\n'), 'batch-bad').then(
      () => assert.fail('the insert succeeded'),
      (caught: unknown) => caught,
    )
    assert.equal(classifyInsertError(err).kind, 'row_data')
    assert.equal(await count(), 3)
  })
})

describe('embedded connection dispatch', () => {
  /** Returns a chdb connection that records raw inserts and rejects everything else. */
  function recording(): { connection: EmbeddedConnection; raw: Array<Record<string, unknown>> } {
    const raw: Array<Record<string, unknown>> = []
    const fake = {
      chdb: {
        rawInsert: async (params: Record<string, unknown>) => {
          raw.push(params)
          return { rowsWritten: 1, bytesWritten: 10, bytesSent: 10, elapsed: 0.001 }
        },
      },
      exec: async () => assert.fail('took the string path'),
    }
    return { connection: new EmbeddedConnection(fake as unknown as ChdbConnection), raw }
  }

  test('writer body goes to raw insert', async () => {
    const { connection, raw } = recording()
    const body = Buffer.from('{"id":1}\n')
    const result = await connection.exec({
      query: 'INSERT INTO events FORMAT JSONEachRow',
      values: Readable.from([body]),
      clickhouse_settings: { ...insertSettings('batch-9'), output_format_json_quote_64bit_integers: 1 },
    })
    assert.equal(raw.length, 1)
    assert.equal(raw[0]?.table, 'events')
    assert.equal(raw[0]?.format, 'JSONEachRow')
    assert.equal(raw[0]?.values, body)
    assert.deepEqual(raw[0]?.settings, insertSettings('batch-9'))
    assert.equal(result.summary?.written_rows, '1')
  })

  test('other statements keep the string path', async () => {
    const { connection, raw } = recording()
    await assert.rejects(
      connection.exec({ query: 'INSERT INTO events (a) FORMAT CSV', values: Readable.from([Buffer.from('1\n')]) }),
      /took the string path/,
    )
    assert.equal(raw.length, 0)
  })
})
