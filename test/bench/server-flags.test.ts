import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { SERVER_NODE_FLAGS } from '../../bench/support/server-process.js'
import { packageRoot } from '../../src/support/paths.js'

test('bench server flags match npm start', () => {
  const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const start = manifest.scripts['start']
  assert.equal(start, `node ${SERVER_NODE_FLAGS.join(' ')} dist/src/cli/main.js serve`)
})
