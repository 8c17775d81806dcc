/**
 * The CEF extension: space-separated `key=value` pairs. A value runs up to
 * the space before the next `key=`, so an `=` that does not follow a
 * space-delimited key belongs to the value (`msg=key=aGVsbG8= spt=2` gives
 * msg `key=aGVsbG8=` and spt `2`). `\=`, `\\`, `\n` and `\r` are unescaped
 * in one left-to-right pass; a bare `|` needs no escaping.
 */

const SPACE = 0x20
const TAB = 0x09
const EQUALS = 0x3d
const BACKSLASH = 0x5c

/** Extension fields by key; a key given twice keeps its last value. */
export type CefExtension = Record<string, string>

export interface ParsedExtension {
  fields: CefExtension
  /** Text before the first `key=`, when the extension does not start with one. */
  leadingText: string | undefined
}

export interface ValueSpan {
  /** Offset of the key's first character. */
  keyStart: number
  valueStart: number
  /** Offset after the value, before trailing spaces. */
  valueEnd: number
}

/** Parses the extension of `line` from `start` to the end of the line. */
export function parseExtension(line: string, start: number): ParsedExtension {
  const fields: CefExtension = Object.create(null) as CefExtension
  let leadingText: string | undefined
  let cursor = skipSpaces(line, start)
  if (cursor < line.length && keyLengthAt(line, cursor) === 0) {
    const firstKey = findNextKey(line, cursor)
    const end = firstKey === -1 ? line.length : firstKey
    leadingText = trimEnd(line, cursor, end)
    cursor = end
  }
  // One search for the next backslash serves every value before it, so
  // lines without escapes are not scanned once per value.
  let nextBackslash = line.indexOf('\\', cursor)
  while (cursor < line.length) {
    const keyLength = keyLengthAt(line, cursor)
    const valueStart = cursor + keyLength + 1
    const next = findNextKey(line, valueStart)
    const end = next === -1 ? line.length : next
    const valueEnd = trimEndOffset(line, valueStart, end)
    if (nextBackslash !== -1 && nextBackslash < valueStart) nextBackslash = line.indexOf('\\', valueStart)
    const escaped = nextBackslash !== -1 && nextBackslash < valueEnd
    fields[line.slice(cursor, cursor + keyLength)] = escaped
      ? unescapeValue(line, valueStart, valueEnd)
      : line.slice(valueStart, valueEnd)
    cursor = end
  }
  return { fields, leadingText }
}

/**
 * Finds the value of `key` in the extension of `line` from `start`, without
 * unescaping it; returns null when the key is absent. Used to rewrite one
 * value in place.
 */
export function findValueSpan(line: string, start: number, key: string): ValueSpan | null {
  let cursor = skipSpaces(line, start)
  if (cursor < line.length && keyLengthAt(line, cursor) === 0) cursor = findNextKey(line, cursor)
  let found: ValueSpan | null = null
  while (cursor !== -1 && cursor < line.length) {
    const keyLength = keyLengthAt(line, cursor)
    const valueStart = cursor + keyLength + 1
    const next = findNextKey(line, valueStart)
    const end = next === -1 ? line.length : next
    if (keyLength === key.length && line.startsWith(key, cursor)) {
      found = { keyStart: cursor, valueStart, valueEnd: trimEndOffset(line, valueStart, end) }
    }
    cursor = next
  }
  return found
}

/**
 * Returns the offset of the next key that follows a space at or after
 * `from`, or -1. A key is one or more key characters directly followed by
 * `=`; a backslash is not a key character, so `\=` never ends a key.
 */
function findNextKey(line: string, from: number): number {
  let space = line.indexOf(' ', from)
  while (space !== -1) {
    if (keyLengthAt(line, space + 1) > 0) return space + 1
    space = line.indexOf(' ', space + 1)
  }
  return -1
}

/** Length of the key at `offset` when key characters up to `=` start there, else 0. */
function keyLengthAt(line: string, offset: number): number {
  let cursor = offset
  while (cursor < line.length && isKeyChar(line.charCodeAt(cursor))) cursor++
  if (cursor === offset || cursor >= line.length) return 0
  return line.charCodeAt(cursor) === EQUALS ? cursor - offset : 0
}

/** Key characters: ASCII letters, digits, `_`, `.` and `-`. */
function isKeyChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x5f ||
    code === 0x2e ||
    code === 0x2d
  )
}

function skipSpaces(line: string, from: number): number {
  let cursor = from
  while (cursor < line.length && isBlank(line.charCodeAt(cursor))) cursor++
  return cursor
}

function trimEndOffset(line: string, start: number, end: number): number {
  let cursor = end
  while (cursor > start && isBlank(line.charCodeAt(cursor - 1))) cursor--
  return cursor
}

function trimEnd(line: string, start: number, end: number): string {
  return line.slice(start, trimEndOffset(line, start, end))
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB
}

/** Unescapes `\=`, `\\`, `\n` and `\r`; any other backslash stays as written. */
export function unescapeValue(line: string, start: number, end: number): string {
  const firstBackslash = line.indexOf('\\', start)
  if (firstBackslash === -1 || firstBackslash >= end) return line.slice(start, end)
  let out = line.slice(start, firstBackslash)
  let runStart = firstBackslash
  for (let i = firstBackslash; i < end; i++) {
    if (line.charCodeAt(i) !== BACKSLASH || i + 1 >= end) continue
    const replacement = escapeReplacement(line.charCodeAt(i + 1))
    if (replacement === undefined) continue
    out += line.slice(runStart, i) + replacement
    i++
    runStart = i + 1
  }
  return out + line.slice(runStart, end)
}

function escapeReplacement(code: number): string | undefined {
  switch (code) {
    case EQUALS:
      return '='
    case BACKSLASH:
      return '\\'
    case 0x6e:
      return '\n'
    case 0x72:
      return '\r'
    default:
      return undefined
  }
}
