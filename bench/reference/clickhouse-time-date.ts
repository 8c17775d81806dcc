function pad(value: number, width: number): string {
  return String(value).padStart(width, '0')
}

/**
 * Formats epoch microseconds as ClickHouse's `YYYY-MM-DD hh:mm:ss.ffffff`
 * through a Date, the way `formatClickHouseMicros` did before it kept the
 * date part between calls. Its property test compares the two, and
 * `bench/timestamp-parse.ts` times them.
 */
export function formatClickHouseMicrosWithDate(micros: number): string {
  const date = new Date(Math.floor(micros / 1000))
  const fraction = micros - Math.floor(micros / 1_000_000) * 1_000_000
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(fraction, 6)}`
  )
}
