import { SerializedEventRow } from './serialized-row.js'

const serialized = new WeakMap<object, string>()

/**
 * Returns the JSON text of a row, serializing it once for the life of the
 * row object. The disk spool writes the text and the writer sends the same
 * text to ClickHouse, so a row is not serialized twice. Rows must not be
 * changed after their first serialization. A row a preparation worker sent
 * is decoded from its line.
 */
export function rowJson(row: object): string {
  if (row instanceof SerializedEventRow) return row.json
  let text = serialized.get(row)
  if (text === undefined) {
    text = JSON.stringify(row)
    serialized.set(row, text)
  }
  return text
}
