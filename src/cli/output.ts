export type OutputFormat = 'table' | 'json' | 'ndjson'

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'ndjson']

function cellText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** Renders rows as aligned columns under a header, cutting cells at 60 characters. */
export function formatTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)\n'
  const columns = Object.keys(rows[0] as Record<string, unknown>)
  const cells = rows.map((row) => columns.map((column) => {
    const text = cellText(row[column]).replaceAll('\n', ' ')
    return text.length > 60 ? text.slice(0, 59) + '…' : text
  }))
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => (line[index] as string).length)))
  const render = (line: string[]): string => line.map((cell, index) => cell.padEnd(widths[index] as number)).join('  ').trimEnd()
  return [render(columns), render(widths.map((width) => '-'.repeat(width))), ...cells.map(render)].join('\n') + '\n'
}

export function formatRows(rows: Record<string, unknown>[], format: OutputFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(rows, null, 2) + '\n'
    case 'ndjson':
      return rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length > 0 ? '\n' : '')
    case 'table':
      return formatTable(rows)
  }
}
