/**
 * CEF and syslog time values. An `Instant` keeps microseconds, which a JS
 * `Date` cannot: `ms` is epoch milliseconds and `micros` the extra
 * microseconds (0-999).
 */

export interface Instant {
  ms: number
  micros: number
}

/** Calendar fields of a time written without a year, zone or both. */
export interface TimeFields {
  year: number | undefined
  /** 0-11 */
  month: number
  day: number
  hour: number
  minute: number
  second: number
  /** Microseconds within the second. */
  micros: number
  /** Offset east of UTC in minutes; undefined means UTC. */
  offsetMinutes: number | undefined
}

/** A timestamp whose epoch value in ms falls outside this range is rejected. */
const MAX_EPOCH_MS = 8.64e15

/** An epoch value at or above this is read as milliseconds, below it as seconds (1e11 s is year 5138). */
const EPOCH_MS_THRESHOLD = 1e11

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

const EPOCH_PATTERN = /^(\d{1,16})(?:\.(\d{1,9}))?$/
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s*(Z|z|[+-]\d{2}(?::?\d{2})?))?$/
const MONTH_DAY_PATTERN =
  /^([A-Za-z]{3}) +(\d{1,2}) +(?:(\d{4}) +)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?: +(\S+))?$/

/** Offsets of zone abbreviations that mean one thing; ambiguous ones (IST, BST) are left out. */
const ZONE_ABBREVIATIONS: Record<string, number> = {
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  AKST: -540,
  AKDT: -480,
  HST: -600,
  CET: 60,
  CEST: 120,
  EET: 120,
  EEST: 180,
  WET: 0,
  WEST: 60,
  JST: 540,
}

/**
 * Parses a CEF time value (`rt`, `start`, `end`, custom dates): epoch
 * milliseconds, epoch seconds, ISO 8601, or `MMM dd [yyyy] HH:mm:ss[.SSS][ zone]`.
 * A time without a year takes the year that puts it nearest `referenceMs`.
 * Returns null when the value is none of these.
 */
export function parseCefTime(value: string, referenceMs: number): Instant | null {
  const text = value.trim()
  if (text.length === 0) return null
  const first = text.charCodeAt(0)
  if (first >= 0x30 && first <= 0x39) {
    return text.length > 10 && text.charCodeAt(4) === 0x2d ? parseIsoTimestamp(text) : parseEpoch(text)
  }
  const match = MONTH_DAY_PATTERN.exec(text)
  if (match === null) return null
  const month = monthIndex(match[1] as string)
  if (month === -1) return null
  const fields: TimeFields = {
    year: match[3] === undefined ? undefined : Number(match[3]),
    month,
    day: Number(match[2]),
    hour: Number(match[4]),
    minute: Number(match[5]),
    second: Number(match[6]),
    micros: fractionToMicros(match[7]),
    offsetMinutes: undefined,
  }
  if (match[8] !== undefined) {
    const offset = resolveZone(match[8], fields)
    if (offset === null) return null
    fields.offsetMinutes = offset
  }
  return resolveFields(fields, referenceMs)
}

/** Parses an ISO 8601 / RFC 3339 date-time; one without a zone is read as UTC. */
export function parseIsoTimestamp(text: string): Instant | null {
  const match = ISO_PATTERN.exec(text)
  if (match === null) return null
  const fields: TimeFields = {
    year: Number(match[1]),
    month: Number(match[2]) - 1,
    day: Number(match[3]),
    hour: Number(match[4]),
    minute: Number(match[5]),
    second: match[6] === undefined ? 0 : Number(match[6]),
    micros: fractionToMicros(match[7]),
    offsetMinutes: match[8] === undefined ? undefined : parseNumericOffset(match[8]),
  }
  return resolveFields(fields, 0)
}

function parseEpoch(text: string): Instant | null {
  const match = EPOCH_PATTERN.exec(text)
  if (match === null) return null
  const whole = Number(match[1])
  const fraction = match[2] ?? ''
  let ms: number
  let micros: number
  if (whole >= EPOCH_MS_THRESHOLD) {
    ms = whole
    micros = Math.floor(fractionToMicros(fraction) / 1000)
  } else {
    const totalMicros = fractionToMicros(fraction)
    ms = whole * 1000 + Math.floor(totalMicros / 1000)
    micros = totalMicros % 1000
  }
  if (ms > MAX_EPOCH_MS) return null
  return { ms, micros }
}

/**
 * Turns calendar fields into an instant; returns null for impossible dates
 * such as Feb 30. A missing year takes the one of the previous, current or
 * next year of `referenceMs` that lands nearest to it.
 */
export function resolveFields(fields: TimeFields, referenceMs: number): Instant | null {
  if (fields.year !== undefined) return fieldsToInstant(fields, fields.year)
  const referenceYear = new Date(referenceMs).getUTCFullYear()
  let best: Instant | null = null
  for (let year = referenceYear - 1; year <= referenceYear + 1; year++) {
    const candidate = fieldsToInstant(fields, year)
    if (candidate === null) continue
    if (best === null || Math.abs(candidate.ms - referenceMs) < Math.abs(best.ms - referenceMs)) {
      best = candidate
    }
  }
  return best
}

function fieldsToInstant(fields: TimeFields, year: number): Instant | null {
  if (fields.hour > 23 || fields.minute > 59 || fields.second > 60) return null
  const local = Date.UTC(year, fields.month, fields.day, fields.hour, fields.minute, fields.second)
  const check = new Date(local)
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== fields.month || check.getUTCDate() !== fields.day) {
    return null
  }
  const ms = local - (fields.offsetMinutes ?? 0) * 60_000 + Math.floor(fields.micros / 1000)
  if (Math.abs(ms) > MAX_EPOCH_MS) return null
  return { ms, micros: fields.micros % 1000 }
}

/** Formats an instant as RFC 3339 in UTC: milliseconds, or microseconds when there are any. */
export function formatInstant(instant: Instant): string {
  const fraction = instant.micros === 0 ? '' : String(instant.micros).padStart(3, '0')
  const ms = instant.ms
  // Date#toISOString costs a runtime call per event; this civil-from-days
  // conversion (Howard Hinnant's algorithm) does the same for years 0-9999.
  if (!Number.isInteger(ms) || ms < MIN_FAST_FORMAT_MS || ms > MAX_FAST_FORMAT_MS) {
    return `${new Date(ms).toISOString().slice(0, -1)}${fraction}Z`
  }
  const days = Math.floor(ms / 86_400_000)
  let rest = ms - days * 86_400_000
  const hour = Math.floor(rest / 3_600_000)
  rest -= hour * 3_600_000
  const minute = Math.floor(rest / 60_000)
  rest -= minute * 60_000
  const second = Math.floor(rest / 1000)
  const milli = rest - second * 1000
  const shifted = days + 719_468
  const era = Math.floor(shifted / 146_097)
  const dayOfEra = shifted - era * 146_097
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365)
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthIndexFromMarch = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthIndexFromMarch + 2) / 5) + 1
  const month = monthIndexFromMarch < 10 ? monthIndexFromMarch + 3 : monthIndexFromMarch - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  return (
    `${String(year).padStart(4, '0')}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}` +
    `T${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}.${String(milli).padStart(3, '0')}${fraction}Z`
  )
}

const TWO_DIGITS = Array.from({ length: 61 }, (_, value) => String(value).padStart(2, '0'))
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the range the fast path formats. */
const MIN_FAST_FORMAT_MS = -62_167_219_200_000
const MAX_FAST_FORMAT_MS = 253_402_300_799_999

export function monthIndex(name: string): number {
  return MONTHS.indexOf(name.toLowerCase())
}

/** Three-letter English month name for a 0-11 month. */
export function monthName(month: number): string {
  const name = MONTHS[month] as string
  return name.charAt(0).toUpperCase() + name.slice(1)
}

function fractionToMicros(fraction: string | undefined): number {
  if (fraction === undefined || fraction.length === 0) return 0
  return Number(fraction.slice(0, 6).padEnd(6, '0'))
}

function parseNumericOffset(zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0
  const sign = zone.charCodeAt(0) === 0x2d ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const hours = Number(digits.slice(0, 2))
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0
  return sign * (hours * 60 + minutes)
}

const NUMERIC_ZONE_PATTERN = /^(?:UTC|GMT)?([+-]\d{1,2})(?::?(\d{2}))?$/i

/**
 * Returns the offset in minutes of a zone written after a CEF date: `UTC`,
 * `GMT`, `Z`, `+hh:mm`, `GMT+hh:mm`, a common abbreviation or an IANA name
 * such as `Europe/Berlin`; null when it is none of these.
 */
function resolveZone(zone: string, fields: TimeFields): number | null {
  const upper = zone.toUpperCase()
  if (upper === 'Z' || upper === 'UTC' || upper === 'GMT' || upper === 'UT') return 0
  const numeric = NUMERIC_ZONE_PATTERN.exec(zone)
  if (numeric !== null) {
    const hours = Number(numeric[1])
    const minutes = numeric[2] === undefined ? 0 : Number(numeric[2])
    if (Math.abs(hours) > 14 || minutes > 59) return null
    return hours < 0 || (numeric[1] as string).startsWith('-') ? hours * 60 - minutes : hours * 60 + minutes
  }
  const abbreviation = ZONE_ABBREVIATIONS[upper]
  if (abbreviation !== undefined) return abbreviation
  if (!zone.includes('/')) return null
  return ianaOffsetMinutes(zone, fields)
}

const zoneFormats = new Map<string, Intl.DateTimeFormat | null>()
/** Bound on cached IANA zone formatters, so arbitrary input cannot grow the cache. */
const MAX_CACHED_ZONES = 64

function ianaOffsetMinutes(zone: string, fields: TimeFields): number | null {
  const format = zoneFormat(zone)
  if (format === null) return null
  const year = fields.year ?? new Date().getUTCFullYear()
  const local = Date.UTC(year, fields.month, fields.day, fields.hour, fields.minute, fields.second)
  // The zone's offset depends on the instant, which depends on the offset:
  // two rounds settle it except inside a daylight-saving gap.
  const first = offsetAt(format, local)
  return offsetAt(format, local - first * 60_000)
}

function zoneFormat(zone: string): Intl.DateTimeFormat | null {
  const cached = zoneFormats.get(zone)
  if (cached !== undefined) return cached
  let format: Intl.DateTimeFormat | null
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
  } catch {
    format = null
  }
  if (zoneFormats.size < MAX_CACHED_ZONES) zoneFormats.set(zone, format)
  return format
}

function offsetAt(format: Intl.DateTimeFormat, utcMs: number): number {
  const parts: Record<string, number> = {}
  for (const part of format.formatToParts(new Date(utcMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value)
  }
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  )
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000)
}
