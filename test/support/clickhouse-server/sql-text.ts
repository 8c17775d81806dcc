/** Names the test server accepts for settings and query parameters without quoting. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Quotes a value as a ClickHouse string literal; the engine converts it to the setting's type. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/** Quotes a database or table name with backticks. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``
}
