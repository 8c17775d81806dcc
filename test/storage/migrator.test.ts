import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { loadConfig } from '../../src/config/load.js'
import { isSiemError } from '../../src/errors.js'
import { openStorage, type Storage } from '../../src/storage/client.js'
import { acquireDataDirLock } from '../../src/storage/data-dir-lock.js'
import { scopeSettings } from '../../src/storage/embedded-connection.js'
import { loadMigrations, runMigrations } from '../../src/storage/migrator.js'
import { freshDataDir, waitFor } from '../support/app.js'
import { closeTestStorage, openTestStorage, readRows } from '../support/storage.js'

const root = freshDataDir('siem-migrator-')
const logger = pino({ level: 'silent' })
let storage: Storage

before(async () => {
  storage = await openTestStorage(root)
})

after(() => closeTestStorage(storage, root))

function rows<T>(query: string): Promise<T[]> {
  return readRows<T>(storage.client, query)
}

/** Creates a fresh folder of migration files from a map of file name to text. */
function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'migrations-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const FIRST = `-- Creates m_one; a semicolon here; must not split.
CREATE TABLE IF NOT EXISTS m_one (s String DEFAULT 'a;b') ENGINE = MergeTree ORDER BY s;
/* block comment ; /* nested ; */ still a comment ; */
INSERT INTO m_one (s) VALUES ('x;y'), ('it''s; quoted');
`
const SECOND = 'CREATE TABLE IF NOT EXISTS m_two (n UInt32) ENGINE = MergeTree ORDER BY n;\n'
// Version 10 depends on version 2, so applying in file-name order (10 before 2) fails.
const TENTH = 'INSERT INTO m_two VALUES (10);\nINSERT INTO m_two VALUES (11)\n'

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

describe('embedded storage', () => {
  test('connects and answers a ping and a query', async () => {
    const ping = await storage.client.ping()
    assert.equal(ping.success, true)
    const [row] = await rows<{ one: number; v: string }>('SELECT 1 AS one, version() AS v')
    assert.equal(row?.one, 1)
    assert.match(row?.v ?? '', /^\d+\.\d+/)
    assert.equal(storage.mode, 'embedded')
    assert.equal(storage.database, 'default')
  })

  test('a data directory locked by a running process is refused with its name', async () => {
    const held = join(root, 'held')
    mkdirSync(held)
    // Process 1 always runs, so its lock is live.
    writeFileSync(join(held, 'siem.lock'), '1')
    const config = loadConfig({ env: {}, overrides: { storage: { data_dir: held } } })
    await assert.rejects(openStorage(config.storage), (err: unknown) => {
      assert.ok(isSiemError(err, 'SIEM_ERR_STORAGE_LOCKED'), String(err))
      assert.ok(err.message.includes(held), err.message)
      return true
    })
  })

  test('a lock left by a process that is gone is taken over', () => {
    const stale = join(root, 'stale')
    mkdirSync(stale)
    writeFileSync(join(stale, 'siem.lock'), '999999999')
    const lock = acquireDataDirLock(stale)
    assert.equal(readFileSync(join(stale, 'siem.lock'), 'utf8'), String(process.pid))
    lock.release()
    lock.release()
  })

  test('lock of a zombie is taken over', { skip: process.platform !== 'linux' }, async () => {
    // `exec sleep` replaces the shell, and sleep never waits for the
    // shell's background child, which stays a zombie once it exits.
    const parent = spawn('bash', ['-c', 'sleep 0.01 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer]
      const zombie = Number.parseInt(line.toString(), 10)
      await waitFor(
        async () => readFileSync(`/proc/${zombie}/stat`, 'utf8'),
        (stat) => stat.includes(') Z '),
        5000,
      )
      const dir = join(root, 'zombie')
      mkdirSync(dir)
      writeFileSync(join(dir, 'siem.lock'), String(zombie))
      const lock = acquireDataDirLock(dir)
      assert.equal(readFileSync(join(dir, 'siem.lock'), 'utf8'), String(process.pid))
      lock.release()
    } finally {
      parent.kill('SIGKILL')
    }
  })
})

describe('migrations', () => {
  test('load in version order and split into statements', () => {
    const dir = migrationsDir({ '101_first.sql': FIRST, '10_third.sql': TENTH, '2_second.sql': SECOND, 'README.md': '# not a migration', 'x_bad.sql': 'SELECT 1' })
    const migrations = loadMigrations(dir)
    assert.deepEqual(
      migrations.map((m) => [m.version, m.name, m.statements.length]),
      [
        [2, '2_second.sql', 1],
        [10, '10_third.sql', 2],
        [101, '101_first.sql', 2],
      ],
    )
    assert.equal(migrations[2]?.checksum, sha256(FIRST))
    assert.match(migrations[2]?.statements[1] ?? '', /^\/\* block comment ; \/\* nested ; \*\/ still a comment ; \*\/\nINSERT INTO m_one/)
  })

  test('two files with one version are refused', () => {
    const dir = migrationsDir({ '7_a.sql': SECOND, '007_b.sql': SECOND })
    assert.throws(() => loadMigrations(dir), (err: unknown) => isSiemError(err, 'SIEM_ERR_MIGRATION_FAILED') && err.message.includes('7_a.sql'))
  })

  test('apply in order, record checksums, then skip what was applied', async () => {
    const dir = migrationsDir({ '1001_first.sql': FIRST.replaceAll('m_one', 'm_apply'), '1002_second.sql': SECOND, '1010_third.sql': TENTH })
    const first = await runMigrations(storage.client, logger, loadMigrations(dir))
    assert.deepEqual(first.applied, ['1001_first.sql', '1002_second.sql', '1010_third.sql'])
    assert.deepEqual(first.skipped, [])
    assert.deepEqual(await rows<{ s: string }>('SELECT s FROM m_apply ORDER BY s'), [{ s: "it's; quoted" }, { s: 'x;y' }])
    assert.deepEqual(await rows<{ n: number }>('SELECT n FROM m_two ORDER BY n'), [{ n: 10 }, { n: 11 }])
    const recorded = await rows<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations WHERE version >= 1000 ORDER BY version',
    )
    assert.deepEqual(recorded, [
      { version: 1001, name: '1001_first.sql', checksum: sha256(FIRST.replaceAll('m_one', 'm_apply')) },
      { version: 1002, name: '1002_second.sql', checksum: sha256(SECOND) },
      { version: 1010, name: '1010_third.sql', checksum: sha256(TENTH) },
    ])

    const second = await runMigrations(storage.client, logger, loadMigrations(dir))
    assert.deepEqual(second.applied, [])
    assert.deepEqual(second.skipped, ['1001_first.sql', '1002_second.sql', '1010_third.sql'])
    assert.equal((await rows('SELECT n FROM m_two')).length, 2, 'inserts ran once')

    writeFileSync(join(dir, '1011_fourth.sql'), 'INSERT INTO m_two VALUES (12);')
    const third = await runMigrations(storage.client, logger, loadMigrations(dir))
    assert.deepEqual(third.applied, ['1011_fourth.sql'])
    assert.equal((await rows('SELECT n FROM m_two')).length, 3)
  })

  test('an applied file whose checksum changed stops with its name', async () => {
    const dir = migrationsDir({ '2001_table.sql': 'CREATE TABLE IF NOT EXISTS m_sum (n UInt8) ENGINE = MergeTree ORDER BY n;' })
    await runMigrations(storage.client, logger, loadMigrations(dir))
    writeFileSync(join(dir, '2001_table.sql'), 'CREATE TABLE IF NOT EXISTS m_sum (n UInt16) ENGINE = MergeTree ORDER BY n;')
    writeFileSync(join(dir, '2002_after.sql'), 'CREATE TABLE m_never (n UInt8) ENGINE = MergeTree ORDER BY n;')
    await assert.rejects(runMigrations(storage.client, logger, loadMigrations(dir)), (err: unknown) => {
      assert.ok(isSiemError(err, 'SIEM_ERR_MIGRATION_CHECKSUM'), String(err))
      assert.equal(err.value, '2001_table.sql')
      assert.ok(err.message.includes('2001_table.sql'))
      return true
    })
    const [exists] = await rows<{ result: number }>('EXISTS TABLE m_never')
    assert.equal(exists?.result, 0, 'nothing after the changed file runs')
  })

  test('a failing statement stops with the file name and is not recorded', async () => {
    const dir = migrationsDir({ '3001_broken.sql': 'CREATE TABLE m_ok (n UInt8) ENGINE = MergeTree ORDER BY n;\nCREATE TABLE (;' })
    await assert.rejects(runMigrations(storage.client, logger, loadMigrations(dir)), (err: unknown) => {
      assert.ok(isSiemError(err, 'SIEM_ERR_MIGRATION_FAILED'), String(err))
      assert.ok(err.message.includes('3001_broken.sql'))
      assert.ok(err.message.includes('statement 2'))
      return true
    })
    assert.equal((await rows('SELECT version FROM schema_migrations WHERE version = 3001')).length, 0)
  })

  test('the shipped migrations apply and then skip', async () => {
    const shipped = loadMigrations()
    assert.deepEqual(
      shipped.slice(0, 3).map((m) => [m.name, m.statements.length]),
      [
        ['001_events.sql', 3],
        ['002_events_hourly.sql', 2],
        ['003_events_quarantine.sql', 1],
      ],
    )
    const names = shipped.map((m) => m.name)
    const first = await runMigrations(storage.client, logger)
    assert.deepEqual(first.applied, names)
    const second = await runMigrations(storage.client, logger)
    assert.deepEqual(second.applied, [])
    assert.deepEqual(second.skipped, names)
    const tables = await rows<{ name: string; engine: string }>(
      "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name LIKE 'events%' ORDER BY name",
    )
    assert.deepEqual(tables, [
      { name: 'events', engine: 'MergeTree' },
      { name: 'events_critical', engine: 'MergeTree' },
      { name: 'events_critical_mv', engine: 'MaterializedView' },
      { name: 'events_hourly', engine: 'SummingMergeTree' },
      { name: 'events_hourly_mv', engine: 'MaterializedView' },
      { name: 'events_quarantine', engine: 'ReplacingMergeTree' },
    ])
  })
})

describe('embedded settings on migration statements', () => {
  const output = { output_format_json_quote_64bit_integers: 1 as const }

  test('INSERT with VALUES drops output settings instead of appending them to the data', () => {
    const query = "INSERT INTO t VALUES ('a')"
    assert.equal(scopeSettings(query, output), query)
    assert.throws(() => scopeSettings(query, { insert_deduplication_token: 'x' }), /cannot scope settings/)
  })

  test('leading comments do not hide the first keyword', () => {
    const ddl = '-- header; with a semicolon\n/* a /* nested */ block */\nCREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a'
    assert.equal(scopeSettings(ddl, output), ddl)
    const insert = '# note\nINSERT INTO t FORMAT JSONEachRow\n{"a":1}'
    assert.equal(scopeSettings(insert, { async_insert: 0 }), '# note\nINSERT INTO t SETTINGS async_insert = 0 FORMAT JSONEachRow\n{"a":1}')
    assert.equal(scopeSettings('-- c\nSELECT 1', { readonly: '1' }), "-- c\nSELECT 1\nSETTINGS readonly = '1'")
  })
})
