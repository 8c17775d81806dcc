import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load.js'
import { packageRoot } from '../../src/support/paths.js'

test('example config documents the defaults', () => {
  const fromExample = loadConfig({ file: join(packageRoot, 'configs', 'config.example.yaml'), env: {} })
  const defaults = loadConfig({ env: {} })
  assert.deepEqual(fromExample, defaults)
})
