/**
 * Maximum nesting depth of arrays and objects in an event's metadata,
 * counting the metadata object as one level. JSON.stringify recurses, so
 * the depth at which it overflows depends on the thread's stack. A bare
 * script on Node 20.20 with default stack sizes overflows at about 4,100
 * levels on the main thread and 16,500 in a worker thread. A fixed limit
 * well below both gives the same result on either thread.
 */
export const MAX_NESTING_DEPTH = 1000

/**
 * Returns true when `value` nests arrays and objects more than `limit`
 * levels deep (a scalar is 0 levels, `{}` and `[]` are 1). It walks the
 * value with an explicit stack, so it cannot overflow the call stack.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next
    if (typeof item !== 'object' || item === null) continue
    if (depth + 1 > limit) return true
    const children = Array.isArray(item) ? item : Object.values(item)
    for (const child of children) pending.push([child, depth + 1])
  }
  return false
}

/**
 * Returns true when `text`, the JSON text of `value`, comes from a value
 * nested more than `limit` levels deep. Each level adds an opening and a
 * closing bracket, so shorter text needs no walk.
 */
export function serializedDeeperThan(text: string, value: unknown, limit: number): boolean {
  return text.length > 2 * limit && nestedDeeperThan(value, limit)
}
