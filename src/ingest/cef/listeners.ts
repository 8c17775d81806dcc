import type { Registry } from 'prom-client'
import type { Config } from '../../config/types.js'
import type { Logger } from '../../logger.js'
import type { Ingestor } from '../types.js'
import { CefTcpListener } from './tcp-listener.js'
import { CefUdpListener } from './udp-listener.js'

export interface CefListenersOptions {
  config: Pick<Config, 'cef' | 'ingest'>
  ingestor: Ingestor
  logger: Logger
  registry: Registry
}

export interface CefAddresses {
  /** Bound TCP port; absent when `cef.tcp.enabled` is false. */
  tcp?: { host: string; port: number }
  /** Bound UDP port; absent when `cef.udp.enabled` is false. */
  udp?: { host: string; port: number }
}

/** The CEF listeners that `cef.tcp.enabled` and `cef.udp.enabled` switch on, started and closed together. */
export class CefListeners {
  readonly #tcp: CefTcpListener | undefined
  readonly #udp: CefUdpListener | undefined
  readonly #config: CefListenersOptions['config']
  #started: Promise<CefAddresses> | undefined
  #closed: Promise<void> | undefined

  constructor(options: CefListenersOptions) {
    const { config, ingestor, logger, registry } = options
    this.#config = config
    const shared = { cef: config.cef, ingestor, logger, registry, ackMode: config.ingest.ack_mode }
    this.#tcp = config.cef.tcp.enabled ? new CefTcpListener({ ...shared, config: config.cef.tcp }) : undefined
    this.#udp = config.cef.udp.enabled ? new CefUdpListener({ ...shared, config: config.cef.udp }) : undefined
  }

  /** Starts the enabled listeners; resolves with their bound ports. Safe to call twice. */
  start(): Promise<CefAddresses> {
    this.#started ??= this.#start()
    return this.#started
  }

  /** Closes both listeners after what they read is ingested. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= Promise.all([this.#tcp?.close(), this.#udp?.close()]).then(() => undefined)
    return this.#closed
  }

  async #start(): Promise<CefAddresses> {
    const [tcp, udp] = await Promise.all([this.#tcp?.start(), this.#udp?.start()])
    const addresses: CefAddresses = {}
    if (tcp !== undefined) addresses.tcp = { host: this.#config.cef.tcp.host, port: tcp.port }
    if (udp !== undefined) addresses.udp = { host: this.#config.cef.udp.host, port: udp.port }
    return addresses
  }
}
