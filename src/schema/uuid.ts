import { v7 } from 'uuid'

/**
 * Returns a UUIDv7 (RFC 9562) from the uuid package: Unix milliseconds
 * first, then a counter, so ids sort by creation time (also within one
 * millisecond) and stay close together in the table's sort key.
 */
export function uuidv7(): string {
  return v7()
}
