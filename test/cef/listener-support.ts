import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { createLogger } from '../../src/logger.js'

export const silentLogger = createLogger({ level: 'silent' })

/** Builds a configuration with both CEF listeners on 127.0.0.1 port 0; `overrides` use the file's shape. */
export function testConfig(overrides: Record<string, unknown> = {}): Config {
  const base = { cef: { tcp: { port: 0 }, udp: { port: 0 } } }
  return loadConfig({ env: {}, overrides: mergeDeep(base, overrides) })
}

function mergeDeep(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target }
  for (const [key, value] of Object.entries(source)) {
    const existing = out[key]
    out[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof existing === 'object' && existing !== null
        ? mergeDeep(existing as Record<string, unknown>, value as Record<string, unknown>)
        : value
  }
  return out
}

export function newRegistry(): Registry {
  return new Registry()
}

/** Value of a metric sample with the given labels, 0 when absent. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return 0
  const data = await metric.get()
  const sample = data.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label))
  return sample?.value ?? 0
}

export function connectTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setNoDelay(true)
    socket.once('connect', () => {
      socket.off('error', reject)
      // The server may reset the connection on purpose; tests watch for 'close'.
      socket.on('error', () => undefined)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

export function write(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())))
}

/** Ends the socket and resolves when the server has closed its side too. */
export function endAndWait(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('close', () => resolve())
    socket.resume()
    socket.end()
  })
}

export function waitForClose(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve()
    socket.once('close', () => resolve())
    socket.resume()
  })
}

/** Polls `condition` every few milliseconds until it is true or `timeoutMs` passes. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Generates a self-signed certificate for 127.0.0.1 with the openssl CLI; returns the PEM file paths. */
export function generateCertificate(): { certPath: string; keyPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cef-tls-'))
  const certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  )
  return { certPath, keyPath }
}

/** Builds a CEF line with a distinct signature id, so tests can check each message arrived once. */
export function cefLine(id: string, extra = ''): string {
  return `<134>Sep 29 08:26:10 host-a CEF:0|Vendor|Product|1.0|${id}|Test ${id}|5|rt=${Date.now()} msg=message ${id}${extra}`
}
