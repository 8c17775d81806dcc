import { SiemError } from '../errors.js'
import type { QueryParams } from './query-params.js'

/** Longest free-text query, in characters. */
export const MAX_TEXT_LENGTH = 1024

/**
 * ASCII characters that end a token for `hasToken` and for the tokenbf_v1
 * and text indexes (splitByNonAlpha): everything outside [0-9A-Za-z].
 * Bytes of non-ASCII characters are token characters.
 */
const SEPARATORS = /[\u0000-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007f]+/
const SEPARATOR_CLASS = '[\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]'
const TOKEN_CHAR = /[^\u0000-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007f]/

/** Characters with a meaning in an RE2 pattern. */
const RE2_SPECIAL = /[\\.+*?()|[\]{}^$]/g

/** Splits text into the tokens the index stores: maximal runs of ASCII letters, digits and non-ASCII characters. */
export function tokenize(text: string): string[] {
  return text.split(SEPARATORS).filter((token) => token !== '')
}

/**
 * The RE2 pattern of a phrase match: the text itself, with a token boundary
 * on each edge that is a token character, so `webmaster` matches
 * `user webmaster from` but not `webmasters`.
 */
export function phrasePattern(text: string, ignoreCase: boolean): string {
  const first = text.charAt(0)
  const last = text.charAt(text.length - 1)
  const head = TOKEN_CHAR.test(first) ? `(?:^|${SEPARATOR_CLASS})` : ''
  const tail = TOKEN_CHAR.test(last) ? `(?:${SEPARATOR_CLASS}|$)` : ''
  const body = text.replace(RE2_SPECIAL, (char) => `\\${char}`)
  return `${ignoreCase ? '(?i)' : ''}${head}${body}${tail}`
}

/** Checks and trims the `text` value of a request; returns undefined for no text (match all). */
export function parseText(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string') throw new SiemError('SIEM_ERR_QUERY_INVALID', 'text must be a string', { value })
  if (value.length > MAX_TEXT_LENGTH) {
    throw new SiemError('SIEM_ERR_QUERY_INVALID', `text is longer than ${MAX_TEXT_LENGTH} characters`, { value: value.length })
  }
  if (value.includes('\u0000')) throw new SiemError('SIEM_ERR_QUERY_INVALID', 'text must not contain NUL characters')
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

/**
 * Builds the condition of a free-text search over `raw`. Every token of the
 * text becomes a `hasToken` (which rejects needles with separators, hence the
 * split), so the token index can skip granules that lack one; `match` then
 * checks the exact phrase, with token boundaries at its edges, on the rows
 * that remain. Matching is case-sensitive unless `ignoreCase`, and only the
 * case-sensitive form can use the index, whose tokens keep their case.
 */
export function textCondition(text: string, ignoreCase: boolean, params: QueryParams): string {
  const tokenFunction = ignoreCase ? 'hasTokenCaseInsensitive' : 'hasToken'
  const conditions = tokenize(text).map((token) => `${tokenFunction}(raw, ${params.bind('String', token)})`)
  conditions.push(`match(raw, ${params.bind('String', phrasePattern(text, ignoreCase))})`)
  return conditions.join(' AND ')
}
