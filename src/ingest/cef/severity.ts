/**
 * CEF severity to the canonical 1-10. Numbers 0-10 map to themselves with 0
 * raised to 1; larger numbers become 10; words (any case) map Low 3, Medium
 * 6, High 8, Very-High 10. `Unknown` and anything unreadable take the
 * configured default. `original` is set whenever the value was changed by
 * more than raising 0, so the caller can keep it in metadata.
 */

export interface MappedSeverity {
  severity: number
  original: string | undefined
}

const SEVERITY_WORDS: Record<string, number> = {
  low: 3,
  medium: 6,
  high: 8,
  'very-high': 10,
  'very high': 10,
  very_high: 10,
  veryhigh: 10,
}

const MAX_SEVERITY = 10
const INTEGER_PATTERN = /^\d{1,6}$/
const DECIMAL_PATTERN = /^\d{1,6}\.\d+$/

export function mapSeverity(value: string, defaultSeverity: number): MappedSeverity {
  const text = value.trim()
  if (INTEGER_PATTERN.test(text)) {
    const number = Number(text)
    if (number <= MAX_SEVERITY) return { severity: number === 0 ? 1 : number, original: undefined }
    return { severity: MAX_SEVERITY, original: value }
  }
  if (DECIMAL_PATTERN.test(text)) {
    const rounded = Math.min(MAX_SEVERITY, Math.max(1, Math.round(Number(text))))
    return { severity: rounded, original: value }
  }
  const word = SEVERITY_WORDS[text.toLowerCase()]
  if (word !== undefined) return { severity: word, original: undefined }
  return { severity: defaultSeverity, original: value }
}
