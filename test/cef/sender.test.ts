import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CefCanonicalEvent } from '../../src/ingest/cef/normalizer.js'
import { sendCefFile, sendCefLines } from '../../src/ingest/cef/sender.js'
import { CefTcpListener } from '../../src/ingest/cef/tcp-listener.js'
import { CefUdpListener } from '../../src/ingest/cef/udp-listener.js'
import type { Candidate } from '../../src/ingest/types.js'
import { EventValidator } from '../../src/schema/validate.js'
import { CORPUS_ACTION_COUNTS, CORPUS_PATH } from './corpus-fixture.js'
import { RecordingIngestor, rawTexts } from './fake-ingestor.js'
import { cefLine, generateCertificate, newRegistry, silentLogger, testConfig } from './listener-support.js'

const closers: Array<() => Promise<void>> = []
after(async () => {
  await Promise.all(closers.map((close) => close()))
})

async function tcpListener(overrides: Record<string, unknown> = {}): Promise<{ ingestor: RecordingIngestor; port: number }> {
  const config = testConfig(overrides)
  const ingestor = new RecordingIngestor()
  const listener = new CefTcpListener({
    config: config.cef.tcp,
    cef: config.cef,
    ingestor,
    logger: silentLogger,
    registry: newRegistry(),
    ackMode: config.ingest.ack_mode,
  })
  closers.push(() => listener.close())
  return { ingestor, port: (await listener.start()).port }
}

async function udpListener(): Promise<{ ingestor: RecordingIngestor; port: number }> {
  const config = testConfig()
  const ingestor = new RecordingIngestor()
  const listener = new CefUdpListener({
    config: config.cef.udp,
    cef: config.cef,
    ingestor,
    logger: silentLogger,
    registry: newRegistry(),
    ackMode: config.ingest.ack_mode,
  })
  closers.push(() => listener.close())
  return { ingestor, port: (await listener.start()).port }
}

/** Checks the candidates are the corpus: valid now, with the corpus counts by action. */
function assertCorpus(candidates: Candidate[]): void {
  const config = testConfig()
  const validator = new EventValidator(config.validation)
  const counts: Record<string, number> = {}
  for (const candidate of candidates) {
    assert.equal(candidate.kind, 'object')
    if (candidate.kind !== 'object') continue
    const event = candidate.value as CefCanonicalEvent
    const result = validator.validate({ value: event, rawText: event.raw, tenantId: 'default', receivedAt: Date.now() * 1000 })
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors))
    counts[event.action] = (counts[event.action] ?? 0) + 1
  }
  assert.deepEqual(counts, CORPUS_ACTION_COUNTS)
}

describe('CEF sender', () => {
  test('corpus file over TCP with rebased times', async () => {
    const { ingestor, port } = await tcpListener()
    const result = await sendCefFile({ file: fileURLToPath(CORPUS_PATH), protocol: 'tcp', host: '127.0.0.1', port, rebaseTime: true })
    assert.equal(result.sent, 2000)
    assert.ok(result.shiftMs > 0)
    await ingestor.waitForCandidates(2000)
    assert.equal(ingestor.candidates.length, 2000)
    assertCorpus(ingestor.candidates)
  })

  test('corpus file over UDP at a set rate', async () => {
    const { ingestor, port } = await udpListener()
    const result = await sendCefFile({
      file: fileURLToPath(CORPUS_PATH),
      protocol: 'udp',
      host: '127.0.0.1',
      port,
      rebaseTime: true,
      ratePerSecond: 5000,
    })
    assert.equal(result.sent, 2000)
    assert.ok(result.duration_ms >= 350, `sent in ${result.duration_ms} ms`)
    await ingestor.waitForCandidates(2000)
    assertCorpus(ingestor.candidates)
  })

  test('octet counting over TLS', async () => {
    const { certPath, keyPath } = generateCertificate()
    const { ingestor, port } = await tcpListener({ cef: { tcp: { tls: { enabled: true, cert_path: certPath, key_path: keyPath } } } })
    const lines = [cefLine('s1', ' msg=two\\nlines'), cefLine('s2')]
    const result = await sendCefLines(lines, {
      protocol: 'tcp',
      host: '127.0.0.1',
      port,
      rebaseTime: false,
      tls: true,
      caFile: certPath,
      framing: 'octet-counting',
    })
    assert.equal(result.sent, 2)
    await ingestor.waitForCandidates(2)
    assert.deepEqual(rawTexts(ingestor), lines)
  })

  test('without rebase the lines are sent unchanged', async () => {
    const { ingestor, port } = await tcpListener()
    const dir = mkdtempSync(join(tmpdir(), 'cef-send-'))
    const file = join(dir, 'lines.cef')
    const lines = [cefLine('r1'), cefLine('r2')]
    writeFileSync(file, lines.join('\r\n') + '\r\n\r\n')
    const result = await sendCefFile({ file, protocol: 'tcp', host: '127.0.0.1', port, rebaseTime: false })
    assert.equal(result.sent, 2)
    assert.equal(result.shiftMs, 0)
    await ingestor.waitForCandidates(2)
    assert.deepEqual(rawTexts(ingestor), lines)
  })

  test('refused connection rejects', async () => {
    const { port } = await tcpListener()
    await closers.pop()?.()
    await assert.rejects(sendCefLines([cefLine('x')], { protocol: 'tcp', host: '127.0.0.1', port, rebaseTime: false }), /ECONNREFUSED/)
  })
})
