const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
}

/** Parses `500ms`, `5s`, `10m`, `2h`, `7d` or integer milliseconds; returns undefined when invalid. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim())
  if (match === null) return undefined
  return Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number)
}

/** Parses integer bytes or `64KiB`, `10MiB`, `1GiB` (also KB, MB, GB in powers of 1000). */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const match = /^(\d+)\s*([a-zA-Z]*)$/.exec(value.trim())
  if (match === null) return undefined
  const unit = SIZE_UNITS[(match[2] as string).toLowerCase()]
  if (unit === undefined) return undefined
  const bytes = Number(match[1]) * unit
  return Number.isSafeInteger(bytes) ? bytes : undefined
}
