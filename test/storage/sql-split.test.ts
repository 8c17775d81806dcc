import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { splitSqlStatements } from '../../src/storage/sql-split.js'

describe('splitSqlStatements', () => {
  test('splits on semicolons and trims', () => {
    assert.deepEqual(splitSqlStatements('SELECT 1;\n  SELECT 2 ;\nSELECT 3'), ['SELECT 1', 'SELECT 2', 'SELECT 3'])
  })

  test('drops empty and comment-only statements', () => {
    assert.deepEqual(splitSqlStatements(';;\n;  -- only a comment\n; /* block */ ;'), [])
    assert.deepEqual(splitSqlStatements('-- heading\nSELECT 1;\n-- trailing comment\n'), ['-- heading\nSELECT 1'])
    assert.deepEqual(splitSqlStatements(''), [])
  })

  test('keeps semicolons inside quoted strings', () => {
    assert.deepEqual(splitSqlStatements("SELECT 'a;b';SELECT 2"), ["SELECT 'a;b'", 'SELECT 2'])
    assert.deepEqual(splitSqlStatements("SELECT 'it''s; fine'; SELECT 2"), ["SELECT 'it''s; fine'", 'SELECT 2'])
    assert.deepEqual(splitSqlStatements("SELECT 'back\\'slash;'; SELECT 2"), ["SELECT 'back\\'slash;'", 'SELECT 2'])
    assert.deepEqual(splitSqlStatements("SELECT '\\\\'; SELECT 2"), ["SELECT '\\\\'", 'SELECT 2'])
  })

  test('keeps semicolons inside quoted identifiers', () => {
    assert.deepEqual(splitSqlStatements('SELECT 1 AS "a;b"; SELECT 1 AS `c;d`'), ['SELECT 1 AS "a;b"', 'SELECT 1 AS `c;d`'])
  })

  test('keeps semicolons inside line comments', () => {
    assert.deepEqual(splitSqlStatements('SELECT 1 -- one; two\n; SELECT 2 # three; four\n;'), [
      'SELECT 1 -- one; two',
      'SELECT 2 # three; four',
    ])
  })

  test('keeps semicolons inside nested block comments', () => {
    const script = 'SELECT /* outer /* inner; */ still comment; */ 1; SELECT 2'
    assert.deepEqual(splitSqlStatements(script), ['SELECT /* outer /* inner; */ still comment; */ 1', 'SELECT 2'])
  })

  test('does not read quotes inside comments as strings', () => {
    assert.deepEqual(splitSqlStatements("SELECT 1 -- don't\n; SELECT 2"), ["SELECT 1 -- don't", 'SELECT 2'])
    assert.deepEqual(splitSqlStatements("SELECT 1 /* it's */; SELECT 2"), ["SELECT 1 /* it's */", 'SELECT 2'])
  })

  test('does not read comment markers inside strings', () => {
    assert.deepEqual(splitSqlStatements("SELECT '--;' ; SELECT '/*;'; SELECT 3"), ["SELECT '--;'", "SELECT '/*;'", 'SELECT 3'])
  })

  test('an unterminated string or comment runs to the end', () => {
    assert.deepEqual(splitSqlStatements("SELECT 'open; SELECT 2"), ["SELECT 'open; SELECT 2"])
    assert.deepEqual(splitSqlStatements('SELECT 1 /* open; SELECT 2'), ['SELECT 1 /* open; SELECT 2'])
  })

  test('splits the shipped migration style', () => {
    const script = `-- Table comment; with a semicolon.
CREATE TABLE t (s String DEFAULT 'x;y') ENGINE = MergeTree ORDER BY s;

/* A view /* nested */ ; */
CREATE MATERIALIZED VIEW v TO t AS SELECT s FROM t WHERE s != ';';
`
    const statements = splitSqlStatements(script)
    assert.equal(statements.length, 2)
    assert.match(statements[0] as string, /^-- Table comment; with a semicolon\.\nCREATE TABLE t/)
    assert.match(statements[1] as string, /CREATE MATERIALIZED VIEW v TO t AS SELECT s FROM t WHERE s != ';'$/)
  })
})
