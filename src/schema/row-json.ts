const serialized = new WeakMap<object, string>()

/**
 * Returns the JSON text of a row, serializing it once for the life of the
 * row object. The disk spool writes the text and the writer sends the same
 * text to ClickHouse, so a row is not serialized twice. Rows must not be
 * changed after their first serialization.
 */
export function rowJson(row: object): string {
  let text = serialized.get(row)
  if (text === undefined) {
    text = JSON.stringify(row)
    serialized.set(row, text)
  }
  return text
}
