import type { Outcome } from '../../schema/event.js'

const OUTCOME_WORDS: Record<string, Outcome> = {
  success: 'success',
  succeeded: 'success',
  successful: 'success',
  succeed: 'success',
  ok: 'success',
  pass: 'success',
  passed: 'success',
  true: 'success',
  failure: 'failure',
  failed: 'failure',
  fail: 'failure',
  false: 'failure',
  error: 'failure',
  unknown: 'unknown',
}

/** First words of `act` that say what happened to the request. */
const ACT_WORDS: Record<string, Outcome> = {
  block: 'failure',
  blocked: 'failure',
  deny: 'failure',
  denied: 'failure',
  drop: 'failure',
  dropped: 'failure',
  reject: 'failure',
  rejected: 'failure',
  allow: 'success',
  allowed: 'success',
  accept: 'success',
  accepted: 'success',
  permit: 'success',
  permitted: 'success',
}

const FIRST_WORD_PATTERN = /^[a-z]+/

/**
 * Reads the `outcome` extension (ArcSight's `/Success` form included);
 * returns undefined when it is not a known word.
 */
export function outcomeFromField(value: string): Outcome | undefined {
  let text = value.trim().toLowerCase()
  if (text.startsWith('/')) text = text.slice(1)
  return OUTCOME_WORDS[text]
}

/** Reads the outcome from the first word of `act`, such as `blocked` or `permit`. */
export function outcomeFromAct(value: string): Outcome | undefined {
  const word = FIRST_WORD_PATTERN.exec(value.trim().toLowerCase())
  return word === null ? undefined : ACT_WORDS[word[0]]
}
