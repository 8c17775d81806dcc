import { formatRfc3339Micros, nowMicros, parseRfc3339 } from '../schema/timestamp.js'

/**
 * Shifts the `timestamp` of NDJSON event lines so that the newest lands at
 * `now` and the spacing between events is kept, microseconds included. Lines
 * that are not JSON objects with an RFC 3339 timestamp are returned unchanged,
 * so the server still sees (and quarantines) them.
 */
export function rebaseEventLines(lines: string[], now: number = nowMicros()): string[] {
  const parsed = lines.map((line) => {
    try {
      const value: unknown = JSON.parse(line)
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
      const event = value as Record<string, unknown>
      const micros = typeof event['timestamp'] === 'string' ? parseRfc3339(event['timestamp']) : undefined
      return micros === undefined ? undefined : { event, micros }
    } catch {
      return undefined
    }
  })
  let newest = -Infinity
  for (const entry of parsed) if (entry !== undefined && entry.micros > newest) newest = entry.micros
  if (newest === -Infinity) return lines
  const shift = now - newest
  return lines.map((line, index) => {
    const entry = parsed[index]
    if (entry === undefined) return line
    entry.event['timestamp'] = formatRfc3339Micros(entry.micros + shift)
    return JSON.stringify(entry.event)
  })
}
