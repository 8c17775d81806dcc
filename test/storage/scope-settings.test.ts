import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { scopeSettings } from '../../src/storage/embedded-connection.js'

describe('scopeSettings', () => {
  test('insert with inline data gets settings before FORMAT', () => {
    const query = 'INSERT INTO events FORMAT JSONEachRow\n{"a":1}\n{"a":2}'
    const scoped = scopeSettings(query, { insert_deduplication_token: 'b1', output_format_json_quote_64bit_integers: 1 })
    assert.equal(scoped, "INSERT INTO events SETTINGS insert_deduplication_token = 'b1' FORMAT JSONEachRow\n{\"a\":1}\n{\"a\":2}")
  })

  test('insert with columns keeps them', () => {
    const scoped = scopeSettings('INSERT INTO t (a, b) FORMAT JSONEachRow', { async_insert: 0 })
    assert.equal(scoped, 'INSERT INTO t (a, b) SETTINGS async_insert = 0 FORMAT JSONEachRow')
  })

  test('select gets a trailing clause', () => {
    const scoped = scopeSettings('SELECT 1 \nFORMAT JSONEachRow', { readonly: '1', max_result_rows: '10' })
    assert.equal(scoped, "SELECT 1 \nFORMAT JSONEachRow\nSETTINGS readonly = '1', max_result_rows = '10'")
  })

  test('ddl drops output settings', () => {
    const query = 'CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS index_granularity = 8192'
    assert.equal(scopeSettings(query, { output_format_json_quote_64bit_integers: 1 }), query)
  })

  test('ddl with other settings is rejected', () => {
    assert.throws(() => scopeSettings('ALTER TABLE t MODIFY TTL x', { mutations_sync: '2' }), /cannot scope settings/)
  })

  test('string values are quoted and escaped', () => {
    const scoped = scopeSettings('SELECT 1', { insert_deduplication_token: "a'b\\c" })
    assert.equal(scoped, "SELECT 1\nSETTINGS insert_deduplication_token = 'a''b\\\\c'")
  })

  test('invalid setting name is rejected', () => {
    assert.throws(() => scopeSettings('SELECT 1', { 'x; DROP TABLE t': 1 } as Record<string, number>), /invalid ClickHouse setting name/)
  })
})
