import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'

/** A TCP port free on 127.0.0.1 right now (another process could still take it before use). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** A UDP port free on 127.0.0.1 right now. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      const port = socket.address().port
      socket.close(() => resolve(port))
    })
  })
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function tcpPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** True when a UDP socket is bound to the port on IPv4, read from /proc/net/udp. */
export function udpPortBound(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  try {
    const table = readFileSync('/proc/net/udp', 'utf8')
    return table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(`:${hexPort}`) === true)
  } catch {
    return false
  }
}
