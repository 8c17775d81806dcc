import { SiemError } from '../errors.js'
import { formatClickHouseMicros, formatRfc3339Micros, nowMicros, parseRfc3339, type EpochMicros } from '../schema/timestamp.js'

/** A resolved half-open time range [start, end) in epoch microseconds. */
export interface TimeRange {
  start: EpochMicros
  end: EpochMicros
}

/** The range a request gave, as text, before `now` is resolved. */
export interface TimeRangeSpec {
  start: string
  end: string
}

export const MICROS_PER_SECOND = 1_000_000
export const MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
export const MICROS_PER_DAY = 24 * MICROS_PER_HOUR

/** Longest range one query may cover: the retention of the events table. */
export const MAX_RANGE_DAYS = 90

const UNIT_MICROS: Record<string, number> = {
  s: MICROS_PER_SECOND,
  m: 60 * MICROS_PER_SECOND,
  h: MICROS_PER_HOUR,
  d: MICROS_PER_DAY,
  w: 7 * MICROS_PER_DAY,
}

const RELATIVE = /^now(?:([+-])(\d{1,6})([smhdw]))?$/
const DURATION = /^(\d{1,6})([smhdw])$/

/** Parses `30s`, `15m`, `1h`, `7d` or `2w` into microseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text)
  if (match === null) return undefined
  return Number(match[1]) * (UNIT_MICROS[match[2] as string] as number)
}

/** Parses one end of a range: RFC 3339, or `now` with an optional offset such as `now-24h`. */
export function parseInstant(value: unknown, now: EpochMicros, where: string): EpochMicros {
  if (typeof value !== 'string' || value === '') {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `${where} must be an RFC 3339 time or a relative time such as now-24h`, { value })
  }
  const relative = RELATIVE.exec(value)
  if (relative !== null) {
    if (relative[1] === undefined) return now
    const offset = Number(relative[2]) * (UNIT_MICROS[relative[3] as string] as number)
    return relative[1] === '-' ? now - offset : now + offset
  }
  const micros = parseRfc3339(value)
  if (micros === undefined) {
    throw new SiemError(
      'SIEM_ERR_QUERY_INVALID',
      `${where} ${JSON.stringify(value.slice(0, 64))} is neither RFC 3339 (2025-01-31T12:00:00Z) nor relative (now, now-15m, now-24h, now-7d)`,
      { value: value.slice(0, 64) },
    )
  }
  return micros
}

/**
 * Reads `time_range` {start, end} of a request: end exclusive, each end
 * optional (`defaultStart`, else now), and at most MAX_RANGE_DAYS long.
 */
export function parseTimeRangeSpec(value: unknown, defaultStart: string): TimeRangeSpec {
  if (value === undefined || value === null) return { start: defaultStart, end: 'now' }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', 'time_range must be an object {"start": ..., "end": ...}', { value })
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (key !== 'start' && key !== 'end') {
      throw new SiemError('SIEM_ERR_QUERY_INVALID', `time_range has an unknown key ${JSON.stringify(key.slice(0, 64))}; use start and end`, {
        value: key.slice(0, 64),
      })
    }
  }
  const start = record['start'] ?? defaultStart
  const end = record['end'] ?? 'now'
  if (typeof start !== 'string' || typeof end !== 'string') {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', 'time_range.start and time_range.end must be strings', { value })
  }
  return { start, end }
}

/** Resolves a range spec against `now` and checks its order and length. */
export function resolveTimeRange(spec: TimeRangeSpec, now: EpochMicros = nowMicros()): TimeRange {
  const start = parseInstant(spec.start, now, 'time_range.start')
  const end = parseInstant(spec.end, now, 'time_range.end')
  if (end <= start) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `time_range.end (${spec.end}) must be later than time_range.start (${spec.start})`, {
      value: spec,
    })
  }
  if (end - start > MAX_RANGE_DAYS * MICROS_PER_DAY) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `time_range covers more than ${MAX_RANGE_DAYS} days; narrow it`, { value: spec })
  }
  return { start, end }
}

/** The range as RFC 3339 text, for responses. */
export function describeRange(range: TimeRange): { start: string; end: string } {
  return { start: formatRfc3339Micros(range.start), end: formatRfc3339Micros(range.end) }
}

/** Text of a bound DateTime64(6, 'UTC') parameter. */
export function timeParam(micros: EpochMicros): string {
  return formatClickHouseMicros(micros)
}
