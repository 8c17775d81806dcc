/**
 * Lists the names called as functions in a SQL statement: identifiers, plain
 * or quoted with backticks or double quotes, followed by `(`. Text inside
 * '…' strings, $$…$$ heredocs and comments is skipped, so a name there does
 * not count. Names are returned as written.
 */
export function calledNames(sql: string): string[] {
  const names: string[] = []
  let i = 0
  while (i < sql.length) {
    const ch = sql[i] as string
    if (ch === "'") {
      i = skipQuoted(sql, i, "'")
    } else if (ch === '$' && sql[i + 1] === '$') {
      const end = sql.indexOf('$$', i + 2)
      i = end === -1 ? sql.length : end + 2
    } else if ((ch === '-' && sql[i + 1] === '-') || ch === '#') {
      const end = sql.indexOf('\n', i)
      i = end === -1 ? sql.length : end + 1
    } else if (ch === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i)
    } else if (ch === '`' || ch === '"') {
      const end = skipQuoted(sql, i, ch)
      i = recordIfCalled(sql, sql.slice(i + 1, end - 1), end, names)
    } else if (/[A-Za-z_]/.test(ch)) {
      let end = i + 1
      while (end < sql.length && /[A-Za-z0-9_]/.test(sql[end] as string)) end++
      i = recordIfCalled(sql, sql.slice(i, end), end, names)
    } else {
      i++
    }
  }
  return names
}

/** Adds `name` when the next token after `from` is `(`; returns where scanning goes on. */
function recordIfCalled(sql: string, name: string, from: number, names: string[]): number {
  let j = from
  for (;;) {
    while (j < sql.length && /\s/.test(sql[j] as string)) j++
    if (sql[j] === '/' && sql[j + 1] === '*') j = skipBlockComment(sql, j)
    else if (sql[j] === '-' && sql[j + 1] === '-') {
      const end = sql.indexOf('\n', j)
      j = end === -1 ? sql.length : end + 1
    } else break
  }
  if (sql[j] === '(') names.push(name)
  return from
}

function skipQuoted(sql: string, open: number, quote: string): number {
  let i = open + 1
  while (i < sql.length) {
    const ch = sql[i]
    if (ch === '\\') i += 2
    else if (ch === quote) {
      if (sql[i + 1] === quote) i += 2
      else return i + 1
    } else i++
  }
  return sql.length
}

function skipBlockComment(sql: string, from: number): number {
  let depth = 0
  let i = from
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++
      i += 2
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--
      i += 2
      if (depth === 0) return i
    } else i++
  }
  return sql.length
}
