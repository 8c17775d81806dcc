import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { connect as connectTcp, isIP, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { performance } from 'node:perf_hooks'
import { rebaseCefLines } from './rebase.js'

export interface SendCefOptions {
  protocol: 'tcp' | 'udp'
  host: string
  port: number
  /** Shift `rt`, `start`, `end` and syslog times so the newest event lands at now, spacing kept. */
  rebaseTime: boolean
  /** Messages a second; unlimited when absent. Worth setting for UDP, which drops what the receiver cannot keep up with. */
  ratePerSecond?: number
  /** TCP only: connect with TLS 1.2 or later. */
  tls?: boolean
  /** PEM file of the CA that signed the server certificate, for a private CA. */
  caFile?: string
  /** Verify the server certificate; default true. */
  rejectUnauthorized?: boolean
  /** TCP framing: one message a line (the default), or RFC 6587 octet counting. */
  framing?: 'newline' | 'octet-counting'
}

export interface SendCefFileOptions extends SendCefOptions {
  /** File of CEF lines, one message a line. */
  file: string
}

export interface SendCefResult {
  protocol: 'tcp' | 'udp'
  /** Messages handed to the socket. */
  sent: number
  /** UDP messages too large for one datagram, not sent. */
  skipped: number
  bytes: number
  /** Milliseconds added to the times by rebasing; 0 without it. */
  shiftMs: number
  duration_ms: number
}

/** Lines written to a TCP socket in one write when no rate is set. */
const LINES_PER_WRITE = 256

/** Sends a file of CEF lines over TCP (optionally TLS) or UDP. */
export async function sendCefFile(options: SendCefFileOptions): Promise<SendCefResult> {
  const text = await readFile(options.file, 'utf8')
  const lines = text
    .split('\n')
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .filter((line) => line.trim().length > 0)
  return sendCefLines(lines, options)
}

/** Sends CEF lines, one message each, over TCP (optionally TLS) or UDP. */
export async function sendCefLines(input: readonly string[], options: SendCefOptions): Promise<SendCefResult> {
  const started = performance.now()
  let lines = input
  let shiftMs = 0
  if (options.rebaseTime) {
    const rebased = rebaseCefLines(input, Date.now())
    lines = rebased.lines
    shiftMs = rebased.shiftMs
  }
  const transport = options.protocol === 'udp' ? await openUdp(options) : await openTcp(options)
  let counts: { sent: number; skipped: number; bytes: number }
  try {
    counts = await pace(lines, options.ratePerSecond, transport)
  } finally {
    await transport.close()
  }
  return { protocol: options.protocol, ...counts, shiftMs, duration_ms: Math.round(performance.now() - started) }
}

interface Transport {
  /** Sends the lines; resolves with the bytes sent and the lines skipped. */
  send(lines: readonly string[]): Promise<{ bytes: number; skipped: number }>
  close(): Promise<void>
}

async function pace(
  lines: readonly string[],
  ratePerSecond: number | undefined,
  transport: Transport,
): Promise<{ sent: number; skipped: number; bytes: number }> {
  const start = performance.now()
  let index = 0
  let bytes = 0
  let skipped = 0
  while (index < lines.length) {
    let end = Math.min(lines.length, index + LINES_PER_WRITE)
    if (ratePerSecond !== undefined) {
      const due = Math.floor(((performance.now() - start) * ratePerSecond) / 1000) + 1
      end = Math.min(end, Math.max(index + 1, due))
    }
    const result = await transport.send(lines.slice(index, end))
    bytes += result.bytes
    skipped += result.skipped
    index = end
    if (ratePerSecond !== undefined && index < lines.length) {
      const wait = start + (index * 1000) / ratePerSecond - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
  return { sent: lines.length - skipped, skipped, bytes }
}

async function openTcp(options: SendCefOptions): Promise<Transport> {
  const socket = options.tls === true ? await connectSecure(options) : await connectPlain(options)
  const octetCounting = options.framing === 'octet-counting'
  let failure: Error | undefined
  socket.on('error', (err) => {
    failure = err
  })
  return {
    async send(lines) {
      if (failure !== undefined) throw failure
      let chunk = ''
      for (const line of lines) {
        chunk += octetCounting ? `${Buffer.byteLength(line)} ${line}` : `${line}\n`
      }
      const data = Buffer.from(chunk, 'utf8')
      if (!socket.write(data)) await waitForDrain(socket)
      return { bytes: data.length, skipped: 0 }
    },
    async close() {
      if (socket.destroyed) return
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve())
        socket.end()
      })
      if (failure !== undefined) throw failure
    },
  }
}

function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      socket.off('close', onClose)
      resolve()
    }
    const onClose = (): void => {
      socket.off('drain', onDrain)
      reject(new Error('the CEF receiver closed the connection while data was still being sent'))
    }
    socket.once('drain', onDrain)
    socket.once('close', onClose)
  })
}

function connectPlain(options: SendCefOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: options.host, port: options.port })
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

async function connectSecure(options: SendCefOptions): Promise<Socket> {
  const ca = options.caFile === undefined ? undefined : await readFile(options.caFile)
  return new Promise((resolve, reject) => {
    const socket = connectTls({
      host: options.host,
      port: options.port,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      ...(ca === undefined ? {} : { ca }),
      ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
    })
    socket.once('secureConnect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

/** Largest UDP payload over IPv4: 65535 minus the IP and UDP headers. */
const MAX_DATAGRAM_BYTES = 65_507

async function openUdp(options: SendCefOptions): Promise<Transport> {
  const socket: UdpSocket = createSocket(isIP(options.host) === 6 ? 'udp6' : 'udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.connect(options.port, options.host, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  // A connected UDP socket reports ICMP port-unreachable as an error event.
  let failure: Error | undefined
  socket.on('error', (err) => {
    failure = err
  })
  return {
    async send(lines) {
      if (failure !== undefined) throw failure
      let bytes = 0
      let skipped = 0
      for (const line of lines) {
        const datagram = Buffer.from(line, 'utf8')
        if (datagram.length > MAX_DATAGRAM_BYTES) {
          skipped++
          continue
        }
        await new Promise<void>((resolve, reject) => socket.send(datagram, (err) => (err ? reject(err) : resolve())))
        bytes += datagram.length
      }
      return { bytes, skipped }
    },
    close() {
      return new Promise((resolve) => socket.close(() => resolve()))
    },
  }
}
