import { isIP } from 'node:net'
import { monthIndex, parseIsoTimestamp, type Instant, type TimeFields } from './time.js'

/**
 * The text before `CEF:`: nothing, an RFC 3164 header (`<PRI>MMM dd
 * HH:mm:ss host `, PRI and host optional), an RFC 5424 header
 * (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD `, then an optional UTF-8 BOM),
 * or arbitrary text such as a relay's prefix.
 */
export interface SyslogPrefix {
  host: string | undefined
  /** RFC 5424 timestamps are complete; RFC 3164 ones need a year (and are read as UTC). */
  time: { kind: 'instant'; instant: Instant } | { kind: 'fields'; fields: TimeFields } | undefined
  /** Offsets of the timestamp text in the line, for rewriting it; -1 when there is none. */
  timeStart: number
  timeEnd: number
}

const BOM = 0xfeff
const NO_PREFIX: SyslogPrefix = { host: undefined, time: undefined, timeStart: -1, timeEnd: -1 }

const PRI_PATTERN = /<(\d{1,3})>/y
const RFC5424_PATTERN = /(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /y
const RFC3164_TIME_PATTERN =
  /([A-Za-z]{3}) +(\d{1,2}) +(?:(\d{4}) +)?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?= |$)/y
const ISO_TIME_PATTERN = /(\d{4}-\d{2}-\d{2}T\S+)(?= |$)/y
const HOSTNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:%-]*$/
/** `facility.level` words that relays print in place of a host, such as `alert.notice`. */
const FACILITY_LEVEL_PATTERN =
  /^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|ntp|security|console|local[0-7]|emerg|alert|crit|err|error|warn|warning|notice|info|debug)\.(emerg|panic|alert|crit|err|error|warn|warning|notice|info|debug)$/i

/** Parses `line.slice(0, end)`, the text before `CEF:`. */
export function parseSyslogPrefix(line: string, end: number): SyslogPrefix {
  if (end === 0) return NO_PREFIX
  let cursor = line.charCodeAt(0) === BOM ? 1 : 0
  PRI_PATTERN.lastIndex = cursor
  const pri = PRI_PATTERN.exec(line)
  if (pri !== null && pri.index + pri[0].length <= end) {
    cursor = PRI_PATTERN.lastIndex
    const structured = parseRfc5424(line, cursor, end)
    if (structured !== null) return structured
  }
  return parseRfc3164(line, cursor, end)
}

function parseRfc5424(line: string, start: number, end: number): SyslogPrefix | null {
  RFC5424_PATTERN.lastIndex = start
  const match = RFC5424_PATTERN.exec(line)
  if (match === null || RFC5424_PATTERN.lastIndex > end) return null
  const timestamp = match[2] as string
  const host = match[3] as string
  let instant: Instant | null = null
  if (timestamp !== '-') {
    instant = parseIsoTimestamp(timestamp)
    if (instant === null) return null
  }
  const timeStart = start + (match[1] as string).length + 1
  return {
    host: host === '-' ? undefined : host,
    time: instant === null ? undefined : { kind: 'instant', instant },
    timeStart: instant === null ? -1 : timeStart,
    timeEnd: instant === null ? -1 : timeStart + timestamp.length,
  }
}

function parseRfc3164(line: string, start: number, end: number): SyslogPrefix {
  RFC3164_TIME_PATTERN.lastIndex = start
  const match = RFC3164_TIME_PATTERN.exec(line)
  if (match !== null && RFC3164_TIME_PATTERN.lastIndex <= end) {
    const month = monthIndex(match[1] as string)
    if (month !== -1) {
      const fields: TimeFields = {
        year: match[3] === undefined ? undefined : Number(match[3]),
        month,
        day: Number(match[2]),
        hour: Number(match[4]),
        minute: Number(match[5]),
        second: Number(match[6]),
        micros: match[7] === undefined ? 0 : Number(match[7].slice(0, 6).padEnd(6, '0')),
        offsetMinutes: undefined,
      }
      const timeEnd = RFC3164_TIME_PATTERN.lastIndex
      return {
        host: pickHost(line, timeEnd, end),
        time: { kind: 'fields', fields },
        timeStart: start,
        timeEnd,
      }
    }
  }
  ISO_TIME_PATTERN.lastIndex = start
  const iso = ISO_TIME_PATTERN.exec(line)
  if (iso !== null && ISO_TIME_PATTERN.lastIndex <= end) {
    const instant = parseIsoTimestamp(iso[1] as string)
    if (instant !== null) {
      const timeEnd = ISO_TIME_PATTERN.lastIndex
      return { host: pickHost(line, timeEnd, end), time: { kind: 'instant', instant }, timeStart: start, timeEnd }
    }
  }
  return NO_PREFIX
}

/**
 * Picks the host from the words between the syslog time and `CEF:`. Words
 * from the first tag (a word ending in `:`, such as `sshd[12]:` or `Fwd:`)
 * on are not hosts. One word left is the host; of several, the first IP
 * address wins, else the first host name that is not a `facility.level`.
 */
function pickHost(line: string, start: number, end: number): string | undefined {
  const words = line.slice(start, end).trim()
  if (words.length === 0) return undefined
  const candidates: string[] = []
  for (const word of words.split(/\s+/)) {
    if (word.endsWith(':')) break
    candidates.push(word)
  }
  if (candidates.length === 1) {
    const only = candidates[0] as string
    return HOSTNAME_PATTERN.test(only) ? only : undefined
  }
  const address = candidates.find((word) => isIP(word) !== 0)
  if (address !== undefined) return address
  return candidates.find((word) => HOSTNAME_PATTERN.test(word) && !FACILITY_LEVEL_PATTERN.test(word))
}
