import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js'
import { parseDuration, parseSize } from '../../src/config/units.js'
import type { Config } from '../../src/config/types.js'
import { isSiemError } from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'siem-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const KEY_HASH = 'a'.repeat(64)

function load(options: LoadConfigOptions = {}): Config {
  return loadConfig({ env: {}, ...options })
}

function writeYaml(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

/** Asserts that loading fails with `code` and a message containing every one of `parts`. */
function assertRejected(options: LoadConfigOptions, parts: string[], code = 'SIEM_ERR_CONFIG_INVALID'): void {
  assert.throws(
    () => load(options),
    (err: unknown) => {
      assert.ok(isSiemError(err), `expected a SiemError, got ${String(err)}`)
      assert.equal(err.code, code)
      for (const part of parts) assert.ok(err.message.includes(part), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(part)}`)
      return true
    },
  )
}

describe('loadConfig defaults', () => {
  test('fills every section with resolved units', () => {
    const config = load()
    assert.equal(config.http.host, '127.0.0.1')
    assert.equal(config.http.port, 8080)
    assert.equal(config.ingest.max_batch_size, 1000)
    assert.equal(config.ingest.max_payload_size, 10 * 1024 * 1024)
    assert.equal(config.validation.max_event_age, 7 * 86_400_000)
    assert.equal(config.validation.max_future, 5 * 60_000)
    assert.equal(config.validation.strict_mode, true)
    assert.equal(config.queue.overflow_policy, 'reject')
    assert.equal(config.queue.max_bytes, 256 * 1024 * 1024)
    assert.equal(config.writer.batch_size, 20000)
    assert.equal(config.writer.max_batch_size, 100000)
    assert.equal(config.writer.flush_interval, 5000)
    assert.equal(config.writer.idle_flush, 250)
    assert.equal(config.writer.idle_flush_min_rows, 1)
    assert.equal(config.storage.mode, 'embedded')
    assert.equal(config.storage.data_dir, './data')
    assert.deepEqual(config.retention, { events_days: 90, critical_days: 365, quarantine_days: 30 })
    assert.equal(config.shutdown_wait, 30_000)
  })
})

describe('loadConfig validation', () => {
  test('rejects unknown keys and names them', () => {
    assertRejected({ overrides: { bogus: 1 } }, ['unknown key bogus'])
    assertRejected({ overrides: { writer: { flush_intervall: '1s' } } }, ['unknown key writer.flush_intervall'])
    assertRejected({ overrides: { queue: { spool: { fsynk: true } } } }, ['unknown key queue.spool.fsynk'])
  })

  test('rejects unknown keys in the YAML file', () => {
    const file = writeYaml('unknown.yaml', 'http:\n  port: 9000\n  hots: 0.0.0.0\n')
    assertRejected({ file }, ['unknown key http.hots'])
  })

  test('names the key and the value of a wrong type', () => {
    assertRejected({ overrides: { http: { port: 'eighty' } } }, ['http.port="eighty"'])
    assertRejected({ overrides: { http: { port: 70000 } } }, ['http.port=70000'])
    assertRejected({ overrides: { queue: { overflow_policy: 'panic' } } }, ['queue.overflow_policy="panic"'])
  })

  test('lists every problem at once', () => {
    assert.throws(
      () => load({ overrides: { bogus: 1, http: { port: -1 } } }),
      (err: unknown) => isSiemError(err) && Array.isArray(err.value) && err.value.length === 2,
    )
  })

  test('refuses a non-loopback bind without API keys', () => {
    assertRejected({ overrides: { http: { host: '0.0.0.0' } } }, ['http.host="0.0.0.0"', 'auth.api_keys'])
    assertRejected({ env: { SIEM_HTTP_HOST: '192.0.2.10' } }, ['http.host="192.0.2.10"'])
  })

  test('allows a non-loopback bind with a key, and loopback without', () => {
    const apiKeys = [{ name: 'ops', sha256: KEY_HASH, tenant: 'acme', roles: ['ingest'] }]
    assert.equal(load({ overrides: { http: { host: '0.0.0.0' }, auth: { api_keys: apiKeys } } }).http.host, '0.0.0.0')
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) {
      assert.equal(load({ overrides: { http: { host } } }).http.host, host)
    }
  })

  test('checks API key entries', () => {
    assertRejected({ overrides: { auth: { api_keys: [{ name: 'x', sha256: 'short', tenant: 't', roles: ['ingest'] }] } } }, ['auth.api_keys.0.sha256="short"'])
    assertRejected({ overrides: { auth: { api_keys: [{ name: 'x', sha256: KEY_HASH, tenant: 't', roles: ['root'] }] } } }, ['auth.api_keys.0.roles.0'])
  })

  test('requires certificate paths when TLS is on', () => {
    assertRejected({ overrides: { http: { tls: { enabled: true } } } }, ['http.tls.cert_path'])
  })

  test('names a certificate file that does not exist', () => {
    const key = writeYaml('tls-key.pem', 'not a real key')
    assertRejected(
      { overrides: { cef: { tcp: { tls: { enabled: true, cert_path: '/nonexistent.pem', key_path: key } } } } },
      ['cef.tcp.tls.cert_path="/nonexistent.pem"', 'file not found'],
    )
  })

  test('refuses two keys with one secret', () => {
    const keys = [
      { name: 'ingest-a', sha256: KEY_HASH, tenant: 't', roles: ['ingest'] },
      { name: 'admin-u', sha256: KEY_HASH.toUpperCase(), tenant: 'u', roles: ['admin'] },
    ]
    assertRejected({ overrides: { auth: { api_keys: keys } } }, ['auth.api_keys[1] (admin-u)', 'same sha256 as ingest-a'])
  })
})

describe('loadConfig durations and sizes', () => {
  test('resolves durations to milliseconds', () => {
    const cases: Array<[string | number, number]> = [
      ['500ms', 500],
      ['5s', 5000],
      ['10m', 600_000],
      ['2h', 7_200_000],
      ['7d', 604_800_000],
      [1500, 1500],
      [0, 0],
    ]
    for (const [value, expected] of cases) {
      assert.equal(load({ overrides: { writer: { flush_interval: value } } }).writer.flush_interval, expected, String(value))
    }
  })

  test('resolves sizes to bytes', () => {
    const cases: Array<[string | number, number]> = [
      ['64KiB', 65_536],
      ['10MiB', 10_485_760],
      ['1GiB', 1_073_741_824],
      ['1kb', 1000],
      ['2 MB', 2_000_000],
      ['100', 100],
      [4096, 4096],
    ]
    for (const [value, expected] of cases) {
      assert.equal(load({ overrides: { queue: { max_bytes: value } } }).queue.max_bytes, expected, String(value))
    }
  })

  test('rejects invalid durations with the key and value', () => {
    for (const value of ['soon', '5', '1.5s', '5S', '-5s', '5 parsecs', '']) {
      assertRejected({ overrides: { writer: { flush_interval: value } } }, ['writer.flush_interval', JSON.stringify(value)])
    }
    for (const value of [-5, 1.5]) {
      assertRejected({ overrides: { writer: { flush_interval: value } } }, ['writer.flush_interval'])
    }
  })

  test('rejects invalid sizes with the key and value', () => {
    for (const value of ['lots', '1.5MiB', '10PiB', '-1', 'MiB']) {
      assertRejected({ overrides: { queue: { max_bytes: value } } }, ['queue.max_bytes', JSON.stringify(value)])
    }
    assertRejected({ overrides: { ingest: { max_payload_size: -1 } } }, ['ingest.max_payload_size'])
  })

  test('unit parsers', () => {
    assert.equal(parseDuration('250ms'), 250)
    assert.equal(parseDuration(' 3s '), 3000)
    assert.equal(parseDuration('3 s'), undefined)
    assert.equal(parseDuration(true), undefined)
    assert.equal(parseSize('3 KiB'), 3072)
    assert.equal(parseSize('3kib'), 3072)
    assert.equal(parseSize(Number.MAX_SAFE_INTEGER + 2), undefined)
    assert.equal(parseSize('99999999999GiB'), undefined)
  })
})

describe('loadConfig sources', () => {
  test('reads the file named by SIEM_CONFIG', () => {
    const file = writeYaml('ports.yaml', 'http:\n  port: 9001\nwriter:\n  flush_interval: 2s\n')
    const config = load({ env: { SIEM_CONFIG: file } })
    assert.equal(config.http.port, 9001)
    assert.equal(config.writer.flush_interval, 2000)
  })

  test('an empty file gives the defaults', () => {
    const file = writeYaml('empty.yaml', '# nothing set\n')
    assert.equal(load({ file }).http.port, 8080)
  })

  test('reports a missing file, invalid YAML and a non-mapping', () => {
    assertRejected({ file: join(dir, 'missing.yaml') }, ['missing.yaml'], 'SIEM_ERR_CONFIG_FILE')
    assertRejected({ file: writeYaml('broken.yaml', 'http: [port: 1\n') }, ['broken.yaml'], 'SIEM_ERR_CONFIG_FILE')
    assertRejected({ file: writeYaml('list.yaml', '- a\n- b\n') }, ['list.yaml'], 'SIEM_ERR_CONFIG_FILE')
  })

  test('environment overrides the file, and overrides win over both', () => {
    const file = writeYaml('layers.yaml', 'http:\n  port: 9001\n  host: 127.0.0.5\n')
    const fromEnv = load({ file, env: { SIEM_HTTP_PORT: '9002' } })
    assert.equal(fromEnv.http.port, 9002)
    assert.equal(fromEnv.http.host, '127.0.0.5')
    const fromOverrides = load({ file, env: { SIEM_HTTP_PORT: '9002' }, overrides: { http: { port: 9003 } } })
    assert.equal(fromOverrides.http.port, 9003)
  })

  test('reads the documented environment variables', () => {
    const config = load({
      env: {
        SIEM_HTTP_HOST: '127.0.0.9',
        SIEM_HTTP_PORT: '0',
        SIEM_DATA_DIR: '/var/lib/siem',
        SIEM_LOG_LEVEL: 'warn',
        SIEM_FLUSH_INTERVAL: '250ms',
        SIEM_CEF_UDP_ENABLED: 'false',
        SIEM_PREPARE_WORKERS: '3',
      },
    })
    assert.equal(config.http.host, '127.0.0.9')
    assert.equal(config.http.port, 0)
    assert.equal(config.storage.data_dir, '/var/lib/siem')
    assert.equal(config.log.level, 'warn')
    assert.equal(config.writer.flush_interval, 250)
    assert.equal(config.cef.udp.enabled, false)
    assert.equal(config.ingest.prepare_workers, 3)
  })

  test('SIEM_CLICKHOUSE_URL switches to server mode unless the mode is set', () => {
    const server = load({ env: { SIEM_CLICKHOUSE_URL: 'http://127.0.0.1:18123' } })
    assert.equal(server.storage.mode, 'server')
    assert.equal(server.storage.server.url, 'http://127.0.0.1:18123')
    const embedded = load({ env: { SIEM_CLICKHOUSE_URL: 'http://127.0.0.1:18123', SIEM_STORAGE_MODE: 'embedded' } })
    assert.equal(embedded.storage.mode, 'embedded')
  })

  test('keeps digit-only values of text keys as text', () => {
    const config = load({ env: { SIEM_CLICKHOUSE_PASSWORD: '123456', SIEM_DATA_DIR: '2024', SIEM_CLICKHOUSE_USER: '1000' } })
    assert.equal(config.storage.server.password, '123456')
    assert.equal(config.storage.data_dir, '2024')
    assert.equal(config.storage.server.username, '1000')
  })

  test('rejects a negative environment integer by range', () => {
    assertRejected({ env: { SIEM_PREPARE_WORKERS: '-1' } }, ['ingest.prepare_workers=-1', 'must be >= 0'])
  })

  test('rejects an invalid environment value with its key', () => {
    assertRejected({ env: { SIEM_HTTP_PORT: 'http' } }, ['http.port="http"'])
    assertRejected({ env: { SIEM_FLUSH_INTERVAL: 'later' } }, ['writer.flush_interval', '"later"'])
  })
})
