import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { connect as connectTls, type TLSSocket } from 'node:tls'
import type { Registry } from 'prom-client'
import { CefTcpListener } from '../../src/ingest/cef/tcp-listener.js'
import type { CefCanonicalEvent } from '../../src/ingest/cef/normalizer.js'
import type { Candidate } from '../../src/ingest/types.js'
import { RecordingIngestor, rawTexts } from './fake-ingestor.js'
import {
  cefLine,
  connectTcp,
  endAndWait,
  generateCertificate,
  metricValue,
  newRegistry,
  silentLogger,
  testConfig,
  waitForClose,
  waitUntil,
  write,
} from './listener-support.js'

interface Started {
  listener: CefTcpListener
  ingestor: RecordingIngestor
  registry: Registry
  port: number
}

const listeners: CefTcpListener[] = []
after(async () => {
  await Promise.all(listeners.map((listener) => listener.close()))
})

async function startListener(overrides: Record<string, unknown> = {}, batchSize?: number): Promise<Started> {
  const config = testConfig(overrides)
  const ingestor = new RecordingIngestor()
  const registry = newRegistry()
  const listener = new CefTcpListener({
    config: config.cef.tcp,
    cef: config.cef,
    ingestor,
    logger: silentLogger,
    registry,
    ackMode: config.ingest.ack_mode,
    ...(batchSize === undefined ? {} : { batchSize }),
  })
  listeners.push(listener)
  const { port } = await listener.start()
  return { listener, ingestor, registry, port }
}

function octetFrame(line: string): string {
  return `${Buffer.byteLength(line)} ${line}`
}

function signatureIds(candidates: Candidate[]): string[] {
  return candidates.map((candidate) => {
    assert.equal(candidate.kind, 'object')
    return (candidate as Extract<Candidate, { kind: 'object' }>).value as CefCanonicalEvent
  }).map((event) => event.source.instance_id ?? '')
}

describe('CEF TCP listener', () => {
  test('newline framing', async () => {
    const { ingestor, port, registry } = await startListener({ ingest: { ack_mode: 'committed' } })
    const socket = await connectTcp(port)
    const lines = [cefLine('1'), cefLine('2'), cefLine('3')]
    await write(socket, lines.join('\r\n') + '\n')
    await endAndWait(socket)
    await ingestor.waitForCandidates(3)
    assert.deepEqual(rawTexts(ingestor), lines)
    const context = ingestor.contexts[0]
    assert.equal(context?.listener, 'cef_tcp')
    assert.equal(context?.sourceFormat, 'cef')
    assert.equal(context?.tenantId, 'default')
    assert.equal(context?.sourceIp, '127.0.0.1')
    assert.equal(context?.ack, 'committed')
    assert.equal(await metricValue(registry, 'siem_cef_messages_received_total', { listener: 'cef_tcp' }), 3)
    assert.equal(await metricValue(registry, 'siem_cef_messages_parsed_total', { listener: 'cef_tcp' }), 3)
    const bytes = Buffer.byteLength(lines.join('\r\n') + '\n')
    assert.equal(await metricValue(registry, 'siem_cef_bytes_received_total', { listener: 'cef_tcp' }), bytes)
  })

  test('octet counting framing', async () => {
    const { ingestor, port } = await startListener()
    const socket = await connectTcp(port)
    const lines = [cefLine('10'), cefLine('11', ' cs1Label=x cs1=wörd'), cefLine('12')]
    await write(socket, lines.map(octetFrame).join(''))
    await endAndWait(socket)
    await ingestor.waitForCandidates(3)
    assert.deepEqual(rawTexts(ingestor), lines)
  })

  test('frames split across writes', async () => {
    const { ingestor, port } = await startListener()
    const octet = await connectTcp(port)
    const newline = await connectTcp(port)
    const octetData = Buffer.from([cefLine('20'), cefLine('21')].map(octetFrame).join(''))
    const newlineData = Buffer.from(`${cefLine('22')}\n${cefLine('23')}\n`)
    for (const [socket, data] of [[octet, octetData], [newline, newlineData]] as const) {
      for (let start = 0; start < data.length; start += 7) {
        await write(socket, data.subarray(start, start + 7))
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    await Promise.all([endAndWait(octet), endAndWait(newline)])
    await ingestor.waitForCandidates(4)
    assert.deepEqual(signatureIds(ingestor.candidates).sort(), ['20', '21', '22', '23'])
  })

  test('last line without newline at close', async () => {
    const { ingestor, port } = await startListener()
    const socket = await connectTcp(port)
    await write(socket, `${cefLine('30')}\n${cefLine('31')}`)
    await endAndWait(socket)
    await ingestor.waitForCandidates(2)
    assert.deepEqual(signatureIds(ingestor.candidates), ['30', '31'])
  })

  test('bad octet count closes the connection', async () => {
    const { ingestor, port, registry } = await startListener()
    const socket = await connectTcp(port)
    await write(socket, `${octetFrame(cefLine('40'))}12x${cefLine('41')}`)
    await waitForClose(socket)
    await ingestor.waitForCandidates(1)
    assert.deepEqual(signatureIds(ingestor.candidates), ['40'])
    const errors = await metricValue(registry, 'siem_cef_framing_errors_total', { listener: 'cef_tcp', reason: 'invalid_octet_count' })
    assert.equal(errors, 1)
  })

  test('oversized octet count closes the connection', async () => {
    const { ingestor, port, registry } = await startListener({ cef: { max_message_size: 1024 } })
    const socket = await connectTcp(port)
    await write(socket, `${octetFrame(cefLine('50'))}99999 ${'x'.repeat(100)}`)
    await waitForClose(socket)
    await ingestor.waitForCandidates(1)
    assert.deepEqual(signatureIds(ingestor.candidates), ['50'])
    const errors = await metricValue(registry, 'siem_cef_framing_errors_total', { listener: 'cef_tcp', reason: 'octet_count_too_large' })
    assert.equal(errors, 1)
  })

  test('oversized line is quarantined truncated', async () => {
    const { ingestor, port } = await startListener({ cef: { max_message_size: 200 } })
    const socket = await connectTcp(port)
    await write(socket, `${cefLine('60', ' msg=' + 'y'.repeat(500))}\n${cefLine('61')}\n`)
    await endAndWait(socket)
    await ingestor.waitForCandidates(2)
    const [large, normal] = ingestor.candidates
    assert.equal(large?.kind, 'unparsable')
    if (large?.kind === 'unparsable') {
      assert.equal(large.errorCode, 'cef_message_too_large')
      assert.equal(large.rawText.length, 200)
    }
    assert.equal(normal?.kind, 'object')
  })

  test('idle connection is closed', async () => {
    const { ingestor, port } = await startListener({ cef: { tcp: { idle_timeout: '200ms' } } })
    const socket = await connectTcp(port)
    await write(socket, cefLine('70'))
    const started = Date.now()
    await waitForClose(socket)
    assert.ok(Date.now() - started >= 150)
    await ingestor.waitForCandidates(1)
    assert.deepEqual(signatureIds(ingestor.candidates), ['70'])
  })

  test('connections over max_connections are rejected', async () => {
    const { ingestor, port, registry } = await startListener({ cef: { tcp: { max_connections: 2 } } })
    const first = await connectTcp(port)
    const second = await connectTcp(port)
    await write(first, `${cefLine('80')}\n`)
    await write(second, `${cefLine('81')}\n`)
    await ingestor.waitForCandidates(2)
    assert.equal(await metricValue(registry, 'siem_cef_connections_open', { listener: 'cef_tcp' }), 2)
    const third = await connectTcp(port)
    await waitForClose(third)
    assert.equal(await metricValue(registry, 'siem_cef_connections_rejected_total', { listener: 'cef_tcp' }), 1)
    await Promise.all([endAndWait(first), endAndWait(second)])
    await waitUntil(async () => (await metricValue(registry, 'siem_cef_connections_open', { listener: 'cef_tcp' })) === 0)
  })

  test('100 concurrent connections store each message once', async () => {
    const { ingestor, port } = await startListener()
    const perConnection = 20
    const sockets = await Promise.all(Array.from({ length: 100 }, () => connectTcp(port)))
    await Promise.all(
      sockets.map(async (socket, connection) => {
        const lines = Array.from({ length: perConnection }, (_, index) => cefLine(`c${connection}-${index}`))
        const data = connection % 2 === 0 ? lines.map((line) => `${line}\n`).join('') : lines.map(octetFrame).join('')
        await write(socket, data)
        await endAndWait(socket)
      }),
    )
    await ingestor.waitForCandidates(100 * perConnection)
    const ids = signatureIds(ingestor.candidates)
    assert.equal(ids.length, 100 * perConnection)
    assert.equal(new Set(ids).size, 100 * perConnection)
  })

  test('full queue pauses reading until it drains', async () => {
    const { ingestor, port, registry } = await startListener({}, 100)
    ingestor.rejectWith('SIEM_ERR_QUEUE_FULL', Number.POSITIVE_INFINITY)
    const socket = await connectTcp(port)
    const total = 60_000
    const padding = 'p'.repeat(100)
    const lines = Array.from({ length: total }, (_, index) => cefLine(`bp${index}`, ` cs1=${padding}`))
    const data = Buffer.from(lines.join('\n') + '\n')
    socket.write(data)
    const bytesRead = (): Promise<number> => metricValue(registry, 'siem_cef_bytes_received_total', { listener: 'cef_tcp' })
    await ingestor.waitForRejections(8)
    const readAtPause = await bytesRead()
    await ingestor.waitForRejections(16)
    const readLater = await bytesRead()
    assert.equal(readLater, readAtPause, 'bytes were read while the queue was full')
    assert.ok(readLater < data.length / 2, `read ${readLater} of ${data.length} bytes while the queue was full`)
    assert.equal(ingestor.candidates.length, 0)
    ingestor.acceptAll()
    await endAndWait(socket)
    await ingestor.waitForCandidates(total)
    const ids = signatureIds(ingestor.candidates)
    assert.equal(ids.length, total)
    assert.equal(new Set(ids).size, total)
    assert.equal(await metricValue(registry, 'siem_cef_messages_dropped_total', { listener: 'cef_tcp', reason: 'queue_full' }), 0)
  })

  test('closed queue drops and counts the batch', async () => {
    const { ingestor, port, registry } = await startListener()
    ingestor.rejectWith('SIEM_ERR_QUEUE_CLOSED', 1)
    const socket = await connectTcp(port)
    await write(socket, `${cefLine('90')}\n`)
    await endAndWait(socket)
    await waitUntil(
      async () => (await metricValue(registry, 'siem_cef_messages_dropped_total', { listener: 'cef_tcp', reason: 'SIEM_ERR_QUEUE_CLOSED' })) === 1,
    )
    assert.equal(ingestor.candidates.length, 0)
  })

  test('start and close twice', async () => {
    const { listener, port, ingestor, registry } = await startListener()
    assert.equal((await listener.start()).port, port)
    const socket = await connectTcp(port)
    const line = cefLine('95')
    await write(socket, line)
    await waitUntil(async () => (await metricValue(registry, 'siem_cef_bytes_received_total', { listener: 'cef_tcp' })) === line.length)
    await Promise.all([listener.close(), listener.close()])
    await listener.close()
    await waitForClose(socket)
    assert.deepEqual(signatureIds(ingestor.candidates), ['95'])
    await assert.rejects(connectTcp(port))
  })
})

describe('CEF TCP listener with TLS', () => {
  test('receives over TLS 1.2 or later', async () => {
    const { certPath, keyPath } = generateCertificate()
    const { ingestor, port } = await startListener({ cef: { tcp: { tls: { enabled: true, cert_path: certPath, key_path: keyPath } } } })
    const socket: TLSSocket = await new Promise((resolve, reject) => {
      const client = connectTls({ host: '127.0.0.1', port, ca: readFileSync(certPath), minVersion: 'TLSv1.2' })
      client.once('secureConnect', () => resolve(client))
      client.once('error', reject)
    })
    assert.ok(['TLSv1.2', 'TLSv1.3'].includes(socket.getProtocol() ?? ''), String(socket.getProtocol()))
    const lines = [cefLine('t1'), cefLine('t2')]
    await new Promise<void>((resolve, reject) => socket.write(lines.map(octetFrame).join(''), (err) => (err ? reject(err) : resolve())))
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve())
      socket.end()
    })
    await ingestor.waitForCandidates(2)
    assert.deepEqual(rawTexts(ingestor), lines)
  })

  test('plain TCP client gets no events through', async () => {
    const { certPath, keyPath } = generateCertificate()
    const { ingestor, port } = await startListener({ cef: { tcp: { tls: { enabled: true, cert_path: certPath, key_path: keyPath } } } })
    const socket = await connectTcp(port)
    await write(socket, `${cefLine('p1')}\n`)
    await waitForClose(socket)
    assert.equal(ingestor.calls, 0)
  })
})
