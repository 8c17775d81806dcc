/**
 * RFC 3339 timestamps with microsecond precision. A JS Date keeps only
 * milliseconds, so the fraction is read from the text: it is truncated to six
 * digits (`.856294523` → 856294 µs) and padded (`.1234` → 123400 µs).
 */

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Microseconds since the Unix epoch; exact as a double up to the year 2255. */
export type EpochMicros = number

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

const ZERO = 48
const DASH = 45
const COLON = 58
const DOT = 46
const PLUS = 43

/** Reads `count` ASCII digits at `start` as a number; returns -1 when one of them is not a digit. */
function readDigits(text: string, start: number, count: number): number {
  let value = 0
  for (let index = start; index < start + count; index++) {
    const digit = text.charCodeAt(index) - ZERO
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

/**
 * Parses an RFC 3339 timestamp with an offset or `Z`; returns undefined when
 * it is not one. The accepted text is `YYYY-MM-DD`, then `T`, `t` or a
 * space, `hh:mm:ss`, an optional fraction of 1 to 9 digits, then `Z`, `z` or
 * `+hh:mm`/`-hh:mm`. It reads the characters by position: 0.14 µs a
 * timestamp against 1.0 µs with a regular expression
 * (`node dist/bench/timestamp-parse.js`).
 */
export function parseRfc3339(text: string): EpochMicros | undefined {
  const length = text.length
  // The shortest is `YYYY-MM-DDThh:mm:ssZ`; the longest adds 9 fraction digits and an offset.
  if (length < 20 || length > 35) return undefined
  if (text.charCodeAt(4) !== DASH || text.charCodeAt(7) !== DASH || text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON) {
    return undefined
  }
  const separator = text[10]
  if (separator !== 'T' && separator !== 't' && separator !== ' ') return undefined
  const year = readDigits(text, 0, 4)
  const month = readDigits(text, 5, 2)
  const day = readDigits(text, 8, 2)
  const hour = readDigits(text, 11, 2)
  const minute = readDigits(text, 14, 2)
  const second = readDigits(text, 17, 2)
  if (year < 0 || month < 1 || month > 12 || day < 1) return undefined
  const monthDays = month === 2 && !isLeapYear(year) ? 28 : (DAYS_IN_MONTH[month - 1] as number)
  if (day > monthDays || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined

  // Fraction: the first six digits are microseconds, further ones are dropped.
  let index = 19
  let micros = 0
  if (text.charCodeAt(index) === DOT) {
    index++
    const fractionStart = index
    while (index < length) {
      const digit = text.charCodeAt(index) - ZERO
      if (digit < 0 || digit > 9) break
      if (index - fractionStart < 6) micros = micros * 10 + digit
      index++
    }
    const fractionDigits = index - fractionStart
    if (fractionDigits < 1 || fractionDigits > 9) return undefined
    for (let padded = fractionDigits; padded < 6; padded++) micros *= 10
  }

  let offsetMinutes = 0
  const zone = text.charCodeAt(index)
  if (index === length - 1 && (text[index] === 'Z' || text[index] === 'z')) {
    offsetMinutes = 0
  } else if (index === length - 6 && (zone === PLUS || zone === DASH) && text.charCodeAt(index + 3) === COLON) {
    const offsetHours = readDigits(text, index + 1, 2)
    const offsetMins = readDigits(text, index + 4, 2)
    if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return undefined
    offsetMinutes = (zone === DASH ? -1 : 1) * (offsetHours * 60 + offsetMins)
  } else {
    return undefined
  }
  let epochMs = Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC reads the years 0 to 99 as 1900 to 1999.
  if (year < 100) epochMs = new Date(epochMs).setUTCFullYear(year, month - 1, day)
  return (epochMs - offsetMinutes * 60_000) * 1000 + micros
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0')
}

const MICROS_PER_SECOND = 1_000_000
const SECONDS_PER_DAY = 86_400
/** `00` to `99`, for the hours, minutes and seconds. */
const TWO_DIGITS = Array.from({ length: 100 }, (_, value) => pad(value, 2))
/** The day last formatted, in days since the epoch, and its `YYYY-MM-DD ` text. */
let lastDay = Number.NaN
let lastDayText = ''

/**
 * Formats as ClickHouse's DateTime64(6) input text in UTC: `YYYY-MM-DD hh:mm:ss.ffffff`.
 * The timestamps of one body mostly fall on one day, so the date text is
 * kept for the next call, and the time of day comes from arithmetic instead
 * of a Date: 72 ns against 282 ns (`node dist/bench/timestamp-parse.js`).
 */
export function formatClickHouseMicros(micros: EpochMicros): string {
  const seconds = Math.floor(micros / MICROS_PER_SECOND)
  const day = Math.floor(seconds / SECONDS_PER_DAY)
  if (day !== lastDay) {
    const date = new Date(day * SECONDS_PER_DAY * 1000)
    lastDayText = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} `
    lastDay = day
  }
  const secondOfDay = seconds - day * SECONDS_PER_DAY
  const hour = TWO_DIGITS[Math.floor(secondOfDay / 3600)] as string
  const minute = TWO_DIGITS[Math.floor(secondOfDay / 60) % 60] as string
  const second = TWO_DIGITS[secondOfDay % 60] as string
  return `${lastDayText}${hour}:${minute}:${second}.${pad(micros - seconds * MICROS_PER_SECOND, 6)}`
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
