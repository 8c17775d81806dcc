import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { assembleStatement } from '../support/clickhouse-server/assemble.js'
import { ServerException } from '../support/clickhouse-server/exception.js'
import { inspectStatement } from '../support/clickhouse-server/statement.js'

function syntaxError(text: string): ServerException {
  try {
    inspectStatement(text)
  } catch (err) {
    assert.ok(err instanceof ServerException)
    assert.equal(err.type, 'SYNTAX_ERROR')
    assert.equal(err.code, 62)
    return err
  }
  assert.fail(`expected a syntax error for ${JSON.stringify(text)}`)
}

describe('statement inspection', () => {
  const single = [
    'SELECT 1',
    'SELECT 1;',
    'SELECT 1 ;; \n -- trailing comment',
    "SELECT 'a;b'",
    "SELECT 'it''s; fine'",
    "SELECT 'esc\\'; still string'",
    'SELECT "col;name" FROM t',
    'SELECT `col;name` FROM t',
    'SELECT 1 /* ; /* nested ; */ ; */',
    'SELECT 1 -- ; SELECT 2',
    'SELECT 1 # ; SELECT 2',
    'SELECT $$a;b$$',
    'SELECT $tag$ ; $$ ; $tag$',
    'INSERT INTO t FORMAT CSV\n1;2\n;SELECT 3',
  ]
  for (const text of single) {
    test(`one statement: ${JSON.stringify(text)}`, () => {
      assert.doesNotThrow(() => inspectStatement(text))
    })
  }

  const multiple = [
    'SELECT 1; SELECT 2',
    'SELECT 1;\nSELECT 2',
    "SELECT 'a'; DROP TABLE t",
    'CREATE TABLE a (x UInt8) ENGINE = Memory; CREATE TABLE b (x UInt8) ENGINE = Memory',
    'INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)',
    'SELECT 1; -- comment\nSELECT 2',
  ]
  for (const text of multiple) {
    test(`several statements: ${JSON.stringify(text)}`, () => {
      const err = syntaxError(text)
      assert.match(err.message, /^Syntax error \(Multi-statements are not allowed\): failed at position \d+ \(;\)/)
    })
  }

  test('error names the semicolon position', () => {
    const err = syntaxError('SELECT 1; SELECT 2')
    assert.equal(err.message, 'Syntax error (Multi-statements are not allowed): failed at position 9 (;): ; SELECT 2')
  })

  test('multi-line error adds line and column', () => {
    const err = syntaxError('SELECT 1\n  ; SELECT 2')
    assert.match(err.message, /failed at position 12 \(;\) \(line 2, col 3\): ; SELECT 2$/)
  })

  test('empty query is rejected', () => {
    const err = syntaxError('  -- only a comment\n')
    assert.equal(err.message, 'Empty query')
  })

  test('insert data starts after the format line', () => {
    const text = 'INSERT INTO t FORMAT JSONEachRow  \n{"a":1}\n'
    const info = inspectStatement(text)
    assert.equal(info.keyword, 'INSERT')
    assert.equal(info.format, 'JSONEachRow')
    assert.equal(text.slice(info.dataOffset), '{"a":1}\n')
  })

  test('insert data on the format line', () => {
    const text = 'INSERT INTO t FORMAT JSONEachRow {"a":1}'
    const info = inspectStatement(text)
    assert.equal(text.slice(info.dataOffset), '{"a":1}')
  })

  test('insert without FORMAT has no data offset', () => {
    const info = inspectStatement('INSERT INTO t VALUES (1)')
    assert.equal(info.dataOffset, undefined)
  })

  test('output FORMAT clause is detected', () => {
    assert.equal(inspectStatement('SELECT 1 FORMAT JSONEachRow').format, 'JSONEachRow')
    assert.equal(inspectStatement('SELECT 1 FORMAT JSON SETTINGS max_threads = 1').format, 'JSON')
    assert.equal(inspectStatement('SELECT format FROM t').format, undefined)
    assert.equal(inspectStatement('SELECT (SELECT 1 FORMAT CSV)').format, undefined)
  })
})

describe('statement assembly', () => {
  test('query parameter and body form an insert', () => {
    const statement = assembleStatement('INSERT INTO t FORMAT JSONEachRow', Buffer.from('{"a":1}\n'))
    assert.equal(statement.sql.trimEnd(), 'INSERT INTO t FORMAT JSONEachRow')
    assert.equal(statement.data?.toString(), '{"a":1}\n')
  })

  test('inline data joins the body', () => {
    const statement = assembleStatement('INSERT INTO t FORMAT JSONEachRow {"a":1}', Buffer.from('{"a":2}\n'))
    assert.equal(statement.data?.toString(), '{"a":1}\n{"a":2}\n')
  })

  test('binary body stays byte for byte', () => {
    const body = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x80])
    const statement = assembleStatement('INSERT INTO t FORMAT RowBinary', body)
    assert.deepEqual(statement.data, body)
    const inBody = assembleStatement(undefined, Buffer.concat([Buffer.from('INSERT INTO t FORMAT RowBinary\n'), body]))
    assert.deepEqual(inBody.data, body)
  })

  test('body continues a query parameter', () => {
    const statement = assembleStatement('SELECT 1', Buffer.from('AS one'))
    assert.equal(statement.sql, 'SELECT 1\nAS one')
    assert.equal(statement.data, undefined)
  })

  test('body after query parameter is checked', () => {
    assert.throws(() => assembleStatement('SELECT 1', Buffer.from('; SELECT 2')), ServerException)
  })
})
