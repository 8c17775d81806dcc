import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rebaseCefLines } from '../../src/ingest/cef/rebase.js'

const NOW = Date.UTC(2030, 5, 15, 12, 0, 0)

describe('CEF time rebasing', () => {
  test('epoch milliseconds and yearless syslog time', () => {
    const lines = [
      '<38>Dec 31 23:00:00 h CEF:0|V|P|1|1|n|3|rt=1451602800000 msg=a',
      '<38>Jan  1 01:00:00 h CEF:0|V|P|1|1|n|3|rt=1451610000000 msg=b',
    ]
    const { lines: out, shiftMs } = rebaseCefLines(lines, NOW)
    assert.equal(shiftMs, NOW - 1451610000000)
    assert.equal(out[1], `<38>Jun 15 12:00:00 h CEF:0|V|P|1|1|n|3|rt=${NOW} msg=b`)
    assert.equal(out[0], `<38>Jun 15 10:00:00 h CEF:0|V|P|1|1|n|3|rt=${NOW - 7_200_000} msg=a`)
  })

  test('epoch seconds, ISO values and start end', () => {
    const lines = [
      'CEF:0|V|P|1|1|n|3|rt=1451602800 start=2015-12-31T22:59:00.123456Z end=2015-12-31T23:00:00+01:00 msg=rt\\=1 x',
    ]
    const { lines: out } = rebaseCefLines(lines, NOW)
    const shifted = NOW - 1451602800000
    const iso = (ms: number): string => new Date(ms + shifted).toISOString()
    assert.equal(
      out[0],
      `CEF:0|V|P|1|1|n|3|rt=${NOW / 1000} start=${iso(1451602740123).slice(0, -1)}456Z end=${iso(1451599200000)} msg=rt\\=1 x`,
    )
  })

  test('RFC 5424 timestamp without rt', () => {
    const lines = ['<165>1 2015-12-31T23:00:00.5Z host app - - - CEF:0|V|P|1|1|n|3|msg=x']
    const { lines: out } = rebaseCefLines(lines, NOW)
    assert.equal(out[0], `<165>1 ${new Date(NOW).toISOString()} host app - - - CEF:0|V|P|1|1|n|3|msg=x`)
  })

  test('lines without times are left alone', () => {
    const lines = ['CEF:0|V|P|1|1|n|3|msg=x', 'not cef at all']
    assert.deepEqual(rebaseCefLines(lines, NOW), { lines, shiftMs: 0 })
  })
})
