import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { packageRoot } from '../../src/support/paths.js'

// `npx siem` runs this file itself, through its #! line, so it must be executable after `npm ci`.
test('cli file runs as a program', () => {
  const result = spawnSync(join(packageRoot, 'dist', 'src', 'cli', 'main.js'), ['--help'], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(result.error, undefined, String(result.error))
  assert.equal(result.status, 0, result.stderr)
  assert.match(result.stdout, /usage: siem <command>/)
})
