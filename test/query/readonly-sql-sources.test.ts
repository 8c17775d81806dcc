import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { calledNames } from '../../src/query/function-calls.js'
import { startTestApp, type TestApp } from '../support/app.js'

describe('calledNames', () => {
  test('finds plain and quoted calls', () => {
    assert.deepEqual(calledNames("SELECT count() FROM file('x')"), ['count', 'file'])
    assert.deepEqual(calledNames('DESCRIBE TABLE `url` (1)'), ['url'])
    assert.deepEqual(calledNames('SELECT * FROM "s3"/* gap */(1)'), ['s3'])
    assert.deepEqual(calledNames('SELECT * FROM url\n-- gap\n(1)'), ['url'])
  })

  test('ignores strings and comments', () => {
    assert.deepEqual(calledNames("SELECT 'file(' AS a -- url(\n/* s3( */ FROM t"), [])
    assert.deepEqual(calledNames('SELECT $$file($$ AS a'), [])
  })

  test('ignores names not followed by a parenthesis', () => {
    assert.deepEqual(calledNames('SELECT file FROM url'), [])
  })
})

describe('POST /v1/sql sources', () => {
  let app: TestApp
  let secret: string

  before(async () => {
    app = await startTestApp()
    secret = join(app.dataDir, 'secret.csv')
    writeFileSync(secret, 'root_line_secret\n1\n')
  })

  after(async () => {
    await app.close()
  })

  async function sql(query: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`${app.url}/v1/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    })
    return { status: response.status, text: await response.text() }
  }

  test('describe over file is refused', async () => {
    for (const query of [
      `DESCRIBE TABLE file('${secret}', 'CSVWithNames')`,
      `DESC file('${secret}', 'TSVWithNames')`,
      `EXPLAIN SELECT * FROM FILE('${secret}', 'CSVWithNames')`,
      `SELECT * FROM \`file\`('${secret}', 'CSVWithNames')`,
      `DESCRIBE TABLE url('http://127.0.0.1:9/a.csv', 'CSVWithNames')`,
      `DESCRIBE TABLE s3('http://127.0.0.1:9/a.csv', 'CSVWithNames')`,
      `SELECT * FROM remote('127.0.0.1:9', system.one)`,
    ]) {
      const answer = await sql(query)
      assert.equal(answer.status, 400, `${query}: ${answer.text}`)
      assert.match(answer.text, /is not allowed/, query)
      assert.doesNotMatch(answer.text, /root_line_secret/, query)
    }
  })

  test('generating table functions still work', async () => {
    const answer = await sql('SELECT count() AS c FROM numbers(10)')
    assert.equal(answer.status, 200, answer.text)
    assert.match(answer.text, /"c":"10"/)
  })
})
