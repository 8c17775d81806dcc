import { Counter, Gauge, type Registry } from 'prom-client'

type ListenerName = 'cef_udp' | 'cef_tcp'

/**
 * Counters of one CEF listener, labelled `listener` (`cef_udp` or
 * `cef_tcp`). Both listeners may share a registry: a metric that is already
 * registered there is reused.
 */
export class CefListenerMetrics {
  readonly received: Counter.Internal
  readonly parsed: Counter.Internal
  readonly quarantined: Counter.Internal
  readonly bytes: Counter.Internal
  readonly openConnections: Gauge.Internal<'listener'>
  readonly rejectedConnections: Counter.Internal
  readonly #dropped: Counter<'listener' | 'reason'>
  readonly #framingErrors: Counter<'listener' | 'reason'>
  readonly #listener: ListenerName

  constructor(registry: Registry, listener: ListenerName) {
    this.#listener = listener
    const labels = { listener }
    this.received = counter(registry, 'siem_cef_messages_received_total', 'CEF messages received', ['listener']).labels(labels)
    this.parsed = counter(registry, 'siem_cef_messages_parsed_total', 'CEF messages parsed into events', ['listener']).labels(labels)
    this.quarantined = counter(
      registry,
      'siem_cef_messages_quarantined_total',
      'CEF messages sent to quarantine: unparsable, too large or invalid',
      ['listener'],
    ).labels(labels)
    this.bytes = counter(registry, 'siem_cef_bytes_received_total', 'Bytes received by the CEF listener', ['listener']).labels(labels)
    this.openConnections = gauge(registry, 'siem_cef_connections_open', 'Open CEF TCP connections', ['listener']).labels(labels)
    this.rejectedConnections = counter(
      registry,
      'siem_cef_connections_rejected_total',
      'CEF TCP connections closed at once because cef.tcp.max_connections were open',
      ['listener'],
    ).labels(labels)
    this.#dropped = counter(
      registry,
      'siem_cef_messages_dropped_total',
      'CEF messages dropped: UDP while the queue was full, or any that ingest rejected for good',
      ['listener', 'reason'],
    )
    this.#framingErrors = counter(
      registry,
      'siem_cef_framing_errors_total',
      'CEF TCP connections closed for a bad or oversized octet count',
      ['listener', 'reason'],
    )
  }

  dropped(count: number, reason: string): void {
    this.#dropped.inc({ listener: this.#listener, reason }, count)
  }

  framingError(reason: string): void {
    this.#framingErrors.inc({ listener: this.#listener, reason })
  }
}

function counter<T extends string>(registry: Registry, name: string, help: string, labelNames: T[]): Counter<T> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Counter) return existing as Counter<T>
  return new Counter({ name, help, labelNames, registers: [registry] })
}

function gauge<T extends string>(registry: Registry, name: string, help: string, labelNames: T[]): Gauge<T> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Gauge) return existing as Gauge<T>
  return new Gauge({ name, help, labelNames, registers: [registry] })
}
