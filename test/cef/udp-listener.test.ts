import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import type { Registry } from 'prom-client'
import { CefUdpListener } from '../../src/ingest/cef/udp-listener.js'
import { RecordingIngestor, rawTexts } from './fake-ingestor.js'
import { cefLine, metricValue, newRegistry, silentLogger, testConfig, waitUntil } from './listener-support.js'

interface Started {
  listener: CefUdpListener
  ingestor: RecordingIngestor
  registry: Registry
  port: number
}

const listeners: CefUdpListener[] = []
const clients: Socket[] = []
after(async () => {
  await Promise.all(listeners.map((listener) => listener.close()))
  for (const client of clients) client.close()
})

async function startListener(overrides: Record<string, unknown> = {}, maxPendingPerSender?: number): Promise<Started> {
  const config = testConfig(overrides)
  const ingestor = new RecordingIngestor()
  const registry = newRegistry()
  const listener = new CefUdpListener({
    config: config.cef.udp,
    cef: config.cef,
    ingestor,
    logger: silentLogger,
    registry,
    ackMode: config.ingest.ack_mode,
    ...(maxPendingPerSender === undefined ? {} : { maxPendingPerSender }),
  })
  listeners.push(listener)
  const { port } = await listener.start()
  return { listener, ingestor, registry, port }
}

async function client(port: number): Promise<Socket> {
  const socket = createSocket('udp4')
  clients.push(socket)
  await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', () => resolve()))
  return socket
}

function send(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.send(data, (err) => (err ? reject(err) : resolve())))
}

const received = (registry: Registry): Promise<number> =>
  metricValue(registry, 'siem_cef_messages_received_total', { listener: 'cef_udp' })

describe('CEF UDP listener', () => {
  test('one message a datagram', async () => {
    const { ingestor, port, registry } = await startListener()
    const socket = await client(port)
    const lines = [cefLine('u1'), cefLine('u2'), cefLine('u3')]
    for (const line of lines) await send(socket, line)
    const withNewline = cefLine('u4')
    await send(socket, `${withNewline}\n`)
    await ingestor.waitForCandidates(4)
    assert.deepEqual(rawTexts(ingestor).sort(), [...lines, withNewline].sort())
    const context = ingestor.contexts[0]
    assert.equal(context?.listener, 'cef_udp')
    assert.equal(context?.sourceFormat, 'cef')
    assert.equal(context?.sourceIp, '127.0.0.1')
    assert.equal(context?.tenantId, 'default')
    assert.equal(await received(registry), 4)
    assert.equal(await metricValue(registry, 'siem_cef_messages_parsed_total', { listener: 'cef_udp' }), 4)
  })

  test('datagram with several lines', async () => {
    const { ingestor, port } = await startListener()
    const socket = await client(port)
    const lines = [cefLine('m1'), cefLine('m2'), cefLine('m3')]
    await send(socket, lines.join('\r\n') + '\n')
    await ingestor.waitForCandidates(3)
    assert.deepEqual(rawTexts(ingestor), lines)
  })

  test('unparsable and oversized datagrams are quarantined', async () => {
    const { ingestor, port, registry } = await startListener({ cef: { max_message_size: 300 } })
    const socket = await client(port)
    await send(socket, 'CEF:0|V|Mgmt|activityID=1111111111111111111 activityType=3505')
    await ingestor.waitForCandidates(1)
    await send(socket, cefLine('big', ` cs1=${'z'.repeat(1000)}`))
    await ingestor.waitForCandidates(2)
    const [unparsable, oversized] = ingestor.candidates
    assert.equal(unparsable?.kind === 'unparsable' && unparsable.errorCode, 'cef_parse_error')
    assert.equal(oversized?.kind === 'unparsable' && oversized.errorCode, 'cef_message_too_large')
    assert.equal(oversized?.rawText?.length, 300)
    assert.equal(await metricValue(registry, 'siem_cef_messages_quarantined_total', { listener: 'cef_udp' }), 2)
    assert.equal(await metricValue(registry, 'siem_cef_messages_parsed_total', { listener: 'cef_udp' }), 0)
  })

  test('full queue buffers then drops and counts', async () => {
    const { ingestor, port, registry } = await startListener({}, 10)
    ingestor.rejectWith('SIEM_ERR_QUEUE_FULL', Number.POSITIVE_INFINITY)
    const socket = await client(port)
    for (let index = 0; index < 30; index++) await send(socket, cefLine(`d${index}`))
    await waitUntil(async () => (await received(registry)) === 30)
    const dropped = await metricValue(registry, 'siem_cef_messages_dropped_total', { listener: 'cef_udp', reason: 'queue_full' })
    assert.ok(dropped >= 10, `dropped ${dropped}`)
    assert.equal(ingestor.candidates.length, 0)
    ingestor.acceptAll()
    await ingestor.waitForCandidates(30 - dropped)
    assert.equal(ingestor.candidates.length, 30 - dropped)
  })

  test('start and close twice', async () => {
    const { listener, port, ingestor } = await startListener()
    assert.equal((await listener.start()).port, port)
    const socket = await client(port)
    await send(socket, cefLine('c1'))
    await ingestor.waitForCandidates(1)
    await Promise.all([listener.close(), listener.close()])
    await listener.close()
  })
})
