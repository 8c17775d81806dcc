/**
 * Sets an own, enumerable property of a plain object, also for the key
 * `__proto__`, where an assignment would set the object's prototype and the
 * key would be missing from the object's JSON.
 */
export function setOwnProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}
