#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// Node 20's --test takes no glob, so the files are listed here; each file runs
// in its own process, which gives each one its own embedded ClickHouse engine.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

function listTests(dir) {
  const found = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...listTests(path))
    else if (name.endsWith('.test.js')) found.push(path)
  }
  return found
}

const filter = process.argv.slice(2)
let files = listTests('dist/test').sort()
if (filter.length > 0) files = files.filter((f) => filter.some((part) => f.includes(part)))
if (files.length === 0) {
  console.error(`no test files matched ${filter.join(' ') || 'dist/test/**/*.test.js'}`)
  process.exit(1)
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
