import { SiemError } from '../errors.js'

/** The fields of a request, from a JSON body or from a query string. */
export type RequestInput = Record<string, unknown>

function invalid(message: string, value?: unknown): SiemError {
  return new SiemError('SIEM_ERR_QUERY_INVALID', message, { value })
}

/** Parses a JSON object body; an empty body is an empty object. */
export function parseBodyObject(body: unknown): RequestInput {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : ''
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw invalid(`the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('the body must be a JSON object')
  return parsed as RequestInput
}

/** The query string of a GET request as an object; repeated keys become arrays. */
export function queryInput(query: unknown): RequestInput {
  return typeof query === 'object' && query !== null ? (query as RequestInput) : {}
}

/** Rejects keys outside `allowed`, so a misspelt option is an error and not silently ignored. */
export function rejectUnknownKeys(input: RequestInput, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      throw invalid(`${where} has an unknown parameter ${JSON.stringify(key.slice(0, 64))}; known: ${allowed.join(', ')}`, key.slice(0, 64))
    }
  }
}

/** A query-string value that must appear once. */
export function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (Array.isArray(value)) throw invalid(`${name} may appear only once`, value.length)
  return String(value)
}

/** Reads an integer option that may arrive as a number (JSON) or as text (query string). */
export function integerOption(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}`, value)
  }
  return number
}

/** Reads a boolean option: true or false in JSON, `true`, `false`, `1` or `0` as text. */
export function booleanOption(value: unknown, name: string): boolean {
  if (value === undefined || value === null || value === '') return false
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw invalid(`${name} must be true or false`, value)
}

/** Reads an option that must be one of a few words. */
export function choiceOption<T extends string>(value: unknown, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined || value === null || value === '') return fallback
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T
  throw invalid(`${name} must be one of ${choices.join(', ')}`, value)
}

/** Reads an optional string option. */
export function stringOption(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw invalid(`${name} must be a string`, value)
  return value
}
