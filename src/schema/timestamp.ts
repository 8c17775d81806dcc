/**
 * RFC 3339 timestamps with microsecond precision. A JS Date keeps only
 * milliseconds, so the fraction is read from the text: it is truncated to six
 * digits (`.856294523` → 856294 µs) and padded (`.1234` → 123400 µs).
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Microseconds since the Unix epoch; exact as a double up to the year 2255. */
export type EpochMicros = number

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

/** Parses an RFC 3339 timestamp with an offset or `Z`; returns undefined when it is not one. */
export function parseRfc3339(text: string): EpochMicros | undefined {
  const match = RFC3339.exec(text)
  if (match === null) return undefined
  const year = Number(match[1])
  const month = Number(match[2])
  const day = Number(match[3])
  const hour = Number(match[4])
  const minute = Number(match[5])
  const second = Number(match[6])
  if (month < 1 || month > 12 || day < 1) return undefined
  const monthDays = month === 2 && !isLeapYear(year) ? 28 : (DAYS_IN_MONTH[month - 1] as number)
  if (day > monthDays || hour > 23 || minute > 59 || second > 59) return undefined

  const fraction = match[7] ?? ''
  const micros = Number((fraction + '000000').slice(0, 6))
  const zone = match[8] as string
  let offsetMinutes = 0
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1
    const offsetHours = Number(zone.slice(1, 3))
    const offsetMins = Number(zone.slice(4, 6))
    if (offsetHours > 23 || offsetMins > 59) return undefined
    offsetMinutes = sign * (offsetHours * 60 + offsetMins)
  }
  const epochMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000
  return epochMs * 1000 + micros
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0')
}

/** Formats as ClickHouse's DateTime64(6) input text in UTC: `YYYY-MM-DD hh:mm:ss.ffffff`. */
export function formatClickHouseMicros(micros: EpochMicros): string {
  const ms = Math.floor(micros / 1000)
  const date = new Date(ms)
  const fraction = micros - Math.floor(micros / 1_000_000) * 1_000_000
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(fraction, 6)}`
  )
}

/** Reads ClickHouse's `YYYY-MM-DD hh:mm:ss[.ffffff]` UTC text back into epoch microseconds. */
export function parseClickHouseTime(text: string): EpochMicros | undefined {
  return parseRfc3339(text.replace(' ', 'T') + 'Z')
}

/** Formats epoch microseconds as RFC 3339 in UTC with six fraction digits. */
export function formatRfc3339Micros(micros: EpochMicros): string {
  return formatClickHouseMicros(micros).replace(' ', 'T') + 'Z'
}

export function nowMicros(): EpochMicros {
  return Date.now() * 1000
}
