import { findValueSpan } from './extension.js'
import { findCefStart, splitHeader } from './header.js'
import { parseSyslogPrefix, type SyslogPrefix } from './syslog.js'
import { formatInstant, monthName, parseCefTime, resolveFields, type Instant } from './time.js'

/**
 * Shifting the times of recorded CEF lines so the newest lands at a given
 * moment and the spacing between events is kept: replaying an old capture
 * would otherwise fall outside the ingest time window.
 */

export interface RebaseResult {
  lines: string[]
  /** Milliseconds added to every time; 0 when no line has a readable time. */
  shiftMs: number
}

const TIME_KEYS = ['rt', 'start', 'end'] as const

interface TimeEdit {
  start: number
  end: number
  instant: Instant
  render: (instant: Instant) => string
}

interface LineTimes {
  edits: TimeEdit[]
  /** The event time the parser would pick: rt, start, end, then the syslog time. */
  eventMs: number | undefined
}

/** Shifts `rt`, `start`, `end` and the syslog timestamp of every line so the newest event time is `nowMs`. */
export function rebaseCefLines(lines: readonly string[], nowMs: number): RebaseResult {
  const times = lines.map((line) => collectTimes(line, nowMs))
  let newest = Number.NEGATIVE_INFINITY
  for (const entry of times) {
    if (entry.eventMs !== undefined && entry.eventMs > newest) newest = entry.eventMs
  }
  if (!Number.isFinite(newest)) return { lines: [...lines], shiftMs: 0 }
  const shiftMs = nowMs - newest
  const rebased = lines.map((line, index) => applyEdits(line, (times[index] as LineTimes).edits, shiftMs))
  return { lines: rebased, shiftMs }
}

function collectTimes(line: string, nowMs: number): LineTimes {
  const edits: TimeEdit[] = []
  const cefStart = findCefStart(line)
  if (cefStart === -1) return { edits, eventMs: undefined }
  let eventMs: number | undefined
  const header = splitHeader(line, cefStart)
  if (header !== null) {
    for (const key of TIME_KEYS) {
      const span = findValueSpan(line, header.extensionStart, key)
      if (span === null) continue
      const text = line.slice(span.valueStart, span.valueEnd)
      const instant = parseCefTime(text, nowMs)
      if (instant === null) continue
      edits.push({ start: span.valueStart, end: span.valueEnd, instant, render: extensionRenderer(text) })
      eventMs ??= instant.ms
    }
  }
  const syslog = parseSyslogPrefix(line, cefStart)
  const syslogEdit = syslogTimeEdit(line, syslog, eventMs ?? nowMs)
  if (syslogEdit !== undefined) {
    edits.push(syslogEdit)
    eventMs ??= syslogEdit.instant.ms
  }
  return { edits, eventMs }
}

/** A yearless syslog time is read in the year nearest the line's own CEF time, so it moves with it. */
function syslogTimeEdit(line: string, syslog: SyslogPrefix, referenceMs: number): TimeEdit | undefined {
  const time = syslog.time
  if (time === undefined) return undefined
  const span = { start: syslog.timeStart, end: syslog.timeEnd }
  if (time.kind === 'instant') return { ...span, instant: time.instant, render: formatInstant }
  const instant = resolveFields(time.fields, referenceMs)
  if (instant === null) return undefined
  const withYear = time.fields.year !== undefined
  const original = line.slice(span.start, span.end)
  const withFraction = original.includes('.')
  return { ...span, instant, render: (shifted) => formatSyslogTime(shifted, withYear, withFraction) }
}

/** Writes a shifted value the way the original was written: epoch ms, epoch s, else ISO 8601. */
function extensionRenderer(original: string): (instant: Instant) => string {
  if (/^\d+$/.test(original)) {
    return Number(original) >= 1e11 ? (instant) => String(instant.ms) : (instant) => String(Math.floor(instant.ms / 1000))
  }
  if (/^\d+\.\d+$/.test(original)) {
    const decimals = (original.split('.')[1] as string).length
    return (instant) => (instant.ms / 1000).toFixed(Math.min(decimals, 3))
  }
  return formatInstant
}

/** RFC 3164 style, `Mmm dd HH:mm:ss` with the day padded by a space, read as UTC. */
function formatSyslogTime(instant: Instant, withYear: boolean, withFraction: boolean): string {
  const date = new Date(instant.ms)
  const day = String(date.getUTCDate()).padStart(2, ' ')
  const clock = date.toISOString().slice(11, withFraction ? 23 : 19)
  const year = withYear ? ` ${date.getUTCFullYear()}` : ''
  return `${monthName(date.getUTCMonth())} ${day}${year} ${clock}`
}

function applyEdits(line: string, edits: readonly TimeEdit[], shiftMs: number): string {
  if (edits.length === 0) return line
  const ordered = [...edits].sort((a, b) => b.start - a.start)
  let out = line
  for (const edit of ordered) {
    const shifted = { ms: edit.instant.ms + shiftMs, micros: edit.instant.micros }
    out = out.slice(0, edit.start) + edit.render(shifted) + out.slice(edit.end)
  }
  return out
}
