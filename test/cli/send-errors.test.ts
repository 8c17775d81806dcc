import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { packageRoot } from '../../src/support/paths.js'

const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js')
const CEF_FIXTURE = join(packageRoot, 'test', 'fixtures', 'openssh-2k.cef.log')

function siem(...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { status: result.status, stderr: result.stderr }
}

test('send names a missing file', () => {
  const result = siem('send', '/nonexistent/events.ndjson', '--url', 'http://127.0.0.1:9')
  assert.equal(result.status, 2)
  assert.match(result.stderr, /cannot read \/nonexistent\/events\.ndjson: ENOENT \[SIEM_ERR_CLI_USAGE\]/)
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
})

test('send names an unreachable listener', () => {
  // Port 9 (discard) has no listener here, so TCP connect is refused.
  const result = siem('send', CEF_FIXTURE, '--protocol', 'tcp', '--port', '9')
  assert.equal(result.status, 1)
  assert.match(result.stderr, /sending to tcp:\/\/127\.0\.0\.1:9 failed: ECONNREFUSED/)
  assert.match(result.stderr, /SIEM_ERR_CLI_SEND_FAILED/)
})
