/**
 * The CEF header: `CEF:Version|Device Vendor|Device Product|Device Version|
 * Signature ID|Name|Severity|Extension`. Fields are split on unescaped `|`;
 * `\|` and `\\` are unescaped, and any other backslash is kept as written.
 */

const PIPE = 0x7c
const BACKSLASH = 0x5c
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39

/** Number of `|`-terminated fields after the version. */
const HEADER_FIELD_COUNT = 6

export interface CefHeader {
  version: number
  deviceVendor: string
  deviceProduct: string
  deviceVersion: string
  signatureId: string
  name: string
  severity: string
  /** Offset in the line where the extension starts (the line length when there is none). */
  extensionStart: number
}

/**
 * Finds the first `CEF:<digits>|` in `line` at or after `from`; returns its
 * offset or -1. Text before it is a syslog header or a relay's prefix.
 */
export function findCefStart(line: string, from = 0): number {
  let index = line.indexOf('CEF:', from)
  while (index !== -1) {
    let cursor = index + 4
    while (cursor < line.length && isDigit(line.charCodeAt(cursor))) cursor++
    if (cursor > index + 4 && line.charCodeAt(cursor) === PIPE) return index
    index = line.indexOf('CEF:', index + 4)
  }
  return -1
}

/**
 * Splits the header that starts at `start` (the offset of `CEF:` returned by
 * findCefStart). Returns null when fewer than seven `|`-terminated fields
 * are present.
 */
export function splitHeader(line: string, start: number): CefHeader | null {
  let cursor = start + 4
  const versionEnd = line.indexOf('|', cursor)
  if (versionEnd === -1) return null
  const version = Number(line.slice(cursor, versionEnd))
  cursor = versionEnd + 1

  const fields: string[] = []
  while (fields.length < HEADER_FIELD_COUNT) {
    let escaped = false
    let end = -1
    for (let i = cursor; i < line.length; i++) {
      const code = line.charCodeAt(i)
      if (code === BACKSLASH) {
        escaped = true
        i++
      } else if (code === PIPE) {
        end = i
        break
      }
    }
    if (end === -1) return null
    fields.push(escaped ? unescapeHeaderField(line, cursor, end) : line.slice(cursor, end))
    cursor = end + 1
  }

  return {
    version,
    deviceVendor: fields[0] as string,
    deviceProduct: fields[1] as string,
    deviceVersion: fields[2] as string,
    signatureId: fields[3] as string,
    name: fields[4] as string,
    severity: fields[5] as string,
    extensionStart: cursor,
  }
}

function unescapeHeaderField(line: string, start: number, end: number): string {
  let out = ''
  let runStart = start
  for (let i = start; i < end; i++) {
    if (line.charCodeAt(i) !== BACKSLASH || i + 1 >= end) continue
    const next = line.charCodeAt(i + 1)
    if (next !== PIPE && next !== BACKSLASH) continue
    out += line.slice(runStart, i)
    runStart = i + 1
    i++
  }
  return out + line.slice(runStart, end)
}

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9
}
