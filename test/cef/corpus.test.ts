import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../../src/config/load.js'
import { CefNormalizer, type CefCanonicalEvent } from '../../src/ingest/cef/normalizer.js'
import { parseCefLine } from '../../src/ingest/cef/parser.js'
import { rebaseCefLines } from '../../src/ingest/cef/rebase.js'
import { EventValidator } from '../../src/schema/validate.js'
import { CORPUS_ACTION_COUNTS, CORPUS_CRITICAL_COUNT, readCorpusLines } from './corpus-fixture.js'

const config = loadConfig({ env: {} })

describe('OpenSSH CEF corpus', () => {
  const lines = readCorpusLines()

  test('has 2000 lines', () => {
    assert.equal(lines.length, 2000)
  })

  test('rebase moves the newest event to now', () => {
    const now = Date.UTC(2030, 0, 15, 12, 0, 0)
    const { lines: rebased, shiftMs } = rebaseCefLines(lines, now)
    assert.equal(rebased.length, lines.length)
    assert.equal(shiftMs, now - 1449745485000)
    const last = rebased.at(-1) as string
    assert.match(last, new RegExp(`rt=${now} `))
    assert.ok(last.startsWith('<38>Jan 15 12:00:00 ssh-gw-01 CEF:0|'), last)
    const first = rebased[0] as string
    assert.match(first, new RegExp(`rt=${1449730546000 + shiftMs} `))
    assert.ok(first.startsWith('<38>Jan 15 07:51:01 ssh-gw-01 CEF:0|'), first)
    for (const [index, line] of rebased.entries()) {
      const before = parseCefLine(lines[index] as string)
      const after = parseCefLine(line)
      assert.ok(before.ok && after.ok)
      const { rt: rtBefore, ...restBefore } = before.record.extension
      const { rt: rtAfter, ...restAfter } = after.record.extension
      assert.equal(Number(rtAfter) - Number(rtBefore), shiftMs)
      assert.deepEqual(restAfter, restBefore)
    }
  })

  test('normalizes to 2000 valid events with the action counts', () => {
    const now = Date.now()
    const { lines: rebased } = rebaseCefLines(lines, now)
    const normalizer = new CefNormalizer(config.cef)
    const validator = new EventValidator(config.validation)
    const counts: Record<string, number> = {}
    let critical = 0
    for (const line of rebased) {
      const candidate = normalizer.normalize(line, { receivedAt: now, peerAddress: '127.0.0.1' })
      assert.equal(candidate.kind, 'object', line)
      if (candidate.kind !== 'object') continue
      const event = candidate.value as CefCanonicalEvent
      const result = validator.validate({ value: event, rawText: line, tenantId: 'default', receivedAt: now * 1000 })
      assert.ok(result.ok, `${line}: ${JSON.stringify(!result.ok && result.errors)}`)
      assert.equal(event.source.host, 'ssh-gw-01')
      assert.equal(event.source.product, 'OpenSSH')
      counts[event.action] = (counts[event.action] ?? 0) + 1
      if (event.severity >= 8) critical++
    }
    assert.deepEqual(counts, CORPUS_ACTION_COUNTS)
    assert.equal(critical, CORPUS_CRITICAL_COUNT)
  })
})
