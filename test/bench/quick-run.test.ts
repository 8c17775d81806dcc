import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { packageRoot } from '../../src/support/paths.js'

// The benchmark checks no speed here: it runs once so that the harness
// itself keeps working, and writes no results (--no-record).
test('bench quick run completes', { timeout: 400_000 }, async () => {
  const child = spawn(process.execPath, [join(packageRoot, 'dist', 'bench', 'main.js'), '--quick', '--no-record'], {
    cwd: packageRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 0, output.slice(-4000))
  assert.match(output, /end to end: \d+ committed events\/s/)
  assert.match(output, /committed events\/s over the engine ceiling/)
})
