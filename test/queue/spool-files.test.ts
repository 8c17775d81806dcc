import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { nodeSpoolFileSystem } from '../../src/queue/spool/files.js'
import { makeTempDir } from './support/spool-helpers.js'

test('write takes more buffers than one writev', async () => {
  const temp = await makeTempDir()
  try {
    const path = join(temp.dir, 'segment')
    const file = await nodeSpoolFileSystem.create(path)
    // Linux takes at most 1024 buffers in one writev call.
    const buffers = Array.from({ length: 3000 }, (_, index) => Buffer.from(`${index},`))
    buffers.splice(5, 0, Buffer.alloc(0))
    await file.write([Buffer.from('head:')], 0)
    await file.write(buffers, 5)
    await file.close()
    assert.equal((await readFile(path)).toString(), `head:${Array.from({ length: 3000 }, (_, index) => `${index},`).join('')}`)
  } finally {
    await temp.remove()
  }
})
