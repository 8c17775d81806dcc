import {
  IP_POOL_SIZE,
  IP_SKEW,
  TENANTS,
  USER_POOL_SIZE,
  USER_SKEW,
  flattenTemplates,
  ipAt,
  parseTemplate,
  usesPlaceholder,
  userAt,
  type FlatTemplate,
  type PlaceholderName,
  type TemplatePart,
} from './event-model.js'
import { SeededRandom, cumulativeWeights } from './random.js'

/** An event in the shape POST /v1/events accepts, without `event_id`. */
export interface InputEvent {
  timestamp: string
  source: { product: string; host: string; instance_id: string; version: string }
  action: string
  outcome: string
  severity: number
  actor?: { type: 'user'; id?: string; name?: string; ip_address?: string }
  target: string
  raw: string
  metadata: Record<string, number>
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function two(value: number): string {
  return String(value).padStart(2, '0')
}

/** Syslog (RFC 3164) time: `Dec  4 14:06:44`, day padded with a space. */
export function syslogTime(date: Date): string {
  const day = String(date.getUTCDate()).padStart(2, ' ')
  return `${MONTHS[date.getUTCMonth()]} ${day} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`
}

/** Common log format time: `04/Dec/2026:14:06:44 +0000`. */
export function clfTime(date: Date): string {
  return (
    `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  )
}

interface CompiledTemplate {
  flat: FlatTemplate
  raw: TemplatePart[]
  target: TemplatePart[]
  instance: TemplatePart[]
  hasPort: boolean
}

type Values = Record<PlaceholderName, string>

/**
 * Generates events from the benchmark's event model with a seeded random
 * source. Timestamps fall uniformly within `windowMs` before the time given
 * to `next`.
 */
export class EventGenerator {
  readonly #random: SeededRandom
  readonly #templates: CompiledTemplate[]
  readonly #cumulative: number[]
  readonly #tenantCumulative = cumulativeWeights(TENANTS.map((tenant) => tenant.weight))

  constructor(seed: number) {
    this.#random = new SeededRandom(seed)
    const flat = flattenTemplates()
    this.#templates = flat.map((entry) => ({
      flat: entry,
      raw: parseTemplate(entry.raw),
      target: parseTemplate(entry.product.target),
      instance: parseTemplate(entry.product.instance),
      hasPort: usesPlaceholder(entry.raw, 'port'),
    }))
    this.#cumulative = cumulativeWeights(flat.map((entry) => entry.share))
  }

  /** A tenant id drawn by the tenants' weights. */
  nextTenant(): string {
    return (TENANTS[this.#random.weighted(this.#tenantCumulative)] as { id: string }).id
  }

  next(nowMs: number, windowMs: number): InputEvent {
    const random = this.#random
    const compiled = this.#templates[random.weighted(this.#cumulative)] as CompiledTemplate
    const { product, template } = compiled.flat
    const date = new Date(nowMs - Math.floor(random.next() * windowMs))
    const values = this.#values(date, product.hostPrefix, product.hostCount)

    const event: InputEvent = {
      timestamp: date.toISOString(),
      source: {
        product: product.product,
        host: values.host,
        instance_id: this.#render(compiled.instance, values),
        version: product.version,
      },
      action: template.action,
      outcome: template.outcome,
      severity: template.severity,
      target: this.#render(compiled.target, values),
      raw: this.#render(compiled.raw, values),
      metadata: compiled.hasPort ? { pid: Number(values.pid), port: Number(values.port) } : { pid: Number(values.pid) },
    }
    const actor = template.actor
    if (actor !== undefined) {
      const id = actor.fixedId ?? values.user
      event.actor = { type: 'user', ...(actor.id ? { id, name: id } : {}), ...(actor.ip ? { ip_address: values.ip } : {}) }
    }
    return event
  }

  #values(date: Date, hostPrefix: string, hostCount: number): Values {
    const random = this.#random
    return {
      time: syslogTime(date),
      clf_time: clfTime(date),
      host: `${hostPrefix}-${two(1 + random.below(hostCount))}`,
      pid: String(1000 + random.below(60000)),
      user: userAt(Math.floor(random.next() ** USER_SKEW * USER_POOL_SIZE)),
      ip: ipAt(Math.floor(random.next() ** IP_SKEW * IP_POOL_SIZE)),
      port: String(1024 + random.below(64000)),
      rdns: `rdns-${random.hex(6)}.example.net`,
      num: String(1 + random.below(65535)),
      octet: String(random.below(256)),
      hex: random.hex(8),
    }
  }

  #render(parts: readonly TemplatePart[], values: Values): string {
    let text = ''
    for (const part of parts) {
      if (part.kind === 'text') text += part.text
      else if (part.kind === 'placeholder') text += values[part.name]
      else text += this.#random.pick(part.options)
    }
    return text
  }
}
