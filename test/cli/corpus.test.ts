import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { loadMigrations } from '../../src/storage/migrator.js'
import { CORPUS_ACTION_COUNTS } from '../cef/corpus-fixture.js'
import { packageRoot } from '../../src/support/paths.js'

/**
 * Replays the OpenSSH corpus with `siem send --rebase-time` through a
 * `siem serve` child process, reads it back with `siem sql`, and checks
 * the CLI's data directory lock and clean shutdown.
 */

const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js')
const CORPUS = join(packageRoot, 'test', 'fixtures', 'openssh-2k.events.ndjson')


const dataDir = mkdtempSync(join(tmpdir(), 'siem-cli-corpus-'))

/** Builds the environment of every child: no configuration file, CEF listeners off, quiet logs. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('SIEM_')) env[name] = value
  return { ...env, SIEM_CEF_UDP_ENABLED: 'false', SIEM_CEF_TCP_ENABLED: 'false', SIEM_LOG_LEVEL: 'warn', ...extra }
}

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `siem ARGS` to completion, with a time limit. */
function runCli(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(), cwd: dataDir })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`siem ${args.join(' ')} timed out; stderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

interface Server {
  child: ChildProcessWithoutNullStreams
  url: string
  logLines: Array<Record<string, unknown>>
  exited: Promise<number | null>
}

/** Starts `siem serve` on a free port and resolves once its `listening` line names the port. */
function startServer(): Promise<Server> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: childEnv({ SIEM_HTTP_PORT: '0', SIEM_DATA_DIR: dataDir, SIEM_LOG_LEVEL: 'info', SIEM_FLUSH_INTERVAL: '200ms' }),
    cwd: dataDir,
  })
  const logLines: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`siem serve did not log listening; stderr: ${stderr}`)), 30_000)
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      logLines.push(entry)
      if (entry['msg'] === 'listening' && typeof entry['port'] === 'number') {
        clearTimeout(timer)
        resolve({ child, url: `http://127.0.0.1:${entry['port']}`, logLines, exited })
      }
    })
    void exited.then((code) => reject(new Error(`siem serve exited with ${code} before listening; stderr: ${stderr}`)))
  })
}

/** Runs `siem sql QUERY --url URL --format json` and returns the parsed rows. */
async function sqlRows(server: Server, query: string): Promise<Array<Record<string, unknown>>> {
  const result = await runCli(['sql', query, '--url', server.url, '--format', 'json'])
  assert.equal(result.code, 0, result.stderr)
  const rows: unknown = JSON.parse(result.stdout)
  assert.ok(Array.isArray(rows), `siem sql printed ${result.stdout}`)
  return rows as Array<Record<string, unknown>>
}

let server: Server | undefined

before(async () => {
  server = await startServer()
})

after(async () => {
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGKILL')
    await server.exited
  }
  rmSync(dataDir, { recursive: true, force: true })
})

describe('OpenSSH corpus through the CLI', () => {
  test('siem send --rebase-time accepts all 2000 events', async () => {
    assert.ok(server !== undefined)
    const result = await runCli(['send', CORPUS, '--url', server.url, '--rebase-time'])
    assert.equal(result.code, 0, result.stderr)
    const summary = JSON.parse(result.stdout) as Record<string, number>
    assert.equal(summary['lines'], 2000)
    assert.equal(summary['accepted'], 2000)
    assert.equal(summary['quarantined'], 0)
    assert.equal(summary['failed'], 0)
  })

  test('siem sql --url reads 2000 events, 3 critical and no quarantine', async () => {
    assert.ok(server !== undefined)
    const deadline = Date.now() + 30_000
    let rows = await sqlRows(server, 'SELECT count() FROM events')
    while (rows[0]?.['count()'] !== '2000' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      rows = await sqlRows(server, 'SELECT count() FROM events')
    }
    assert.deepEqual(rows, [{ 'count()': '2000' }])
    assert.deepEqual(await sqlRows(server, 'SELECT count() AS c FROM events_critical'), [{ c: '3' }])
    assert.deepEqual(await sqlRows(server, "SELECT action, count() AS c FROM events_critical GROUP BY action"), [{ action: 'auth.lockout', c: '3' }])
    assert.deepEqual(await sqlRows(server, 'SELECT count() AS c FROM events_quarantine'), [{ c: '0' }])
    const byAction = await sqlRows(server, 'SELECT action, count() AS c FROM events GROUP BY action')
    assert.deepEqual(
      Object.fromEntries(byAction.map((row) => [row['action'], Number(row['c'])])),
      CORPUS_ACTION_COUNTS,
    )
  })

  test('rebased times keep their spacing and end near now', async () => {
    assert.ok(server !== undefined)
    const [span] = await sqlRows(
      server,
      "SELECT dateDiff('second', min(timestamp), max(timestamp)) AS seconds, dateDiff('second', max(timestamp), now64(6)) AS age FROM events",
    )
    // The corpus runs from 2015-12-10 06:55:46 to 11:04:45 UTC.
    assert.equal(Number(span?.['seconds']), 4 * 3600 + 8 * 60 + 59)
    const age = Number(span?.['age'])
    assert.ok(age >= 0, `newest event is ${age} s old`)
    assert.ok(age < 120, `newest event is ${age} s old`)
  })

  test('siem sql on the data directory of a running server names the directory', async () => {
    const result = await runCli(['sql', 'SELECT 1', '--data-dir', dataDir])
    assert.equal(result.code, 1)
    assert.ok(result.stderr.includes(dataDir), result.stderr)
    assert.ok(result.stderr.includes('SIEM_ERR_STORAGE_LOCKED'), result.stderr)
    assert.equal(result.stdout, '')
  })

  test('SIGTERM drains and exits 0', async () => {
    assert.ok(server !== undefined)
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
    assert.ok(server.logLines.some((line) => line['msg'] === 'shutdown complete'), 'shutdown is logged')
  })

  test('siem sql reads the data directory once the server is gone', async () => {
    const result = await runCli(['sql', 'SELECT count() AS c FROM events', '--data-dir', dataDir, '--format', 'json'])
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(JSON.parse(result.stdout), [{ c: '2000' }])
    const table = await runCli(['sql', "SELECT action, count() AS c FROM events WHERE action = 'auth.lockout' GROUP BY action", '--data-dir', dataDir])
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /^action\s+c\n-+\s+-+\nauth\.lockout\s+3\n$/)
  })

  test('siem sql refuses a write on the data directory', async () => {
    const result = await runCli(['sql', 'DROP TABLE events', '--data-dir', dataDir])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /SIEM_ERR_QUERY_INVALID/)
  })

  test('siem migrate skips what start-up applied', async () => {
    const result = await runCli(['migrate', '--data-dir', dataDir])
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout) as { applied: string[]; skipped: string[]; retention_changed: string[] }
    assert.deepEqual(report.applied, [])
    assert.deepEqual(report.skipped, loadMigrations().map((migration) => migration.name))
    assert.ok(report.skipped.includes('001_events.sql'))
    assert.deepEqual(report.retention_changed, [])
  })
})
