/**
 * Splits a SQL script into single statements on the `;` that end them. A
 * ClickHouse server's HTTP interface runs one statement a request, so each
 * migration file goes through here. Semicolons inside '…' strings, "…" and
 * `…` identifiers, -- and # line comments and nested block comments do not
 * split. Statements that hold only comments and blanks are dropped.
 */
export function splitSqlStatements(script: string): string[] {
  const statements: string[] = []
  let start = 0
  let meaningful = false
  let i = 0
  const length = script.length

  const push = (end: number): void => {
    if (meaningful) statements.push(script.slice(start, end).trim())
    start = end + 1
    meaningful = false
  }

  while (i < length) {
    const ch = script[i] as string
    const next = script[i + 1]
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(script, i, ch)
      meaningful = true
    } else if ((ch === '-' && next === '-') || ch === '#') {
      i = skipLineComment(script, i)
    } else if (ch === '/' && next === '*') {
      i = skipBlockComment(script, i)
    } else if (ch === ';') {
      push(i)
      i++
    } else {
      if (!/\s/.test(ch)) meaningful = true
      i++
    }
  }
  push(length)
  return statements
}

/** Returns the index after the closing quote; a backslash escapes the next character, a doubled quote is one quote. */
function skipQuoted(script: string, open: number, quote: string): number {
  let i = open + 1
  while (i < script.length) {
    const ch = script[i]
    if (ch === '\\') {
      i += 2
    } else if (ch === quote) {
      if (script[i + 1] === quote) i += 2
      else return i + 1
    } else {
      i++
    }
  }
  return script.length
}

function skipLineComment(script: string, from: number): number {
  const end = script.indexOf('\n', from)
  return end === -1 ? script.length : end + 1
}

/** ClickHouse allows nested block comments, so depth is counted. */
function skipBlockComment(script: string, from: number): number {
  let depth = 0
  let i = from
  while (i < script.length) {
    if (script[i] === '/' && script[i + 1] === '*') {
      depth++
      i += 2
    } else if (script[i] === '*' && script[i + 1] === '/') {
      depth--
      i += 2
      if (depth === 0) return i
    } else {
      i++
    }
  }
  return script.length
}
