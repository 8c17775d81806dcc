/** The canonical action pattern: lowercase dotted words. */
export const ACTION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/

const MAX_ACTION_LENGTH = 256
const FALLBACK_ACTION = 'unknown'

/**
 * Picks the action: the configured table by signature id, then by name,
 * then `act` or the name reduced to the action pattern, then `unknown`.
 */
export function resolveAction(
  actionMap: Readonly<Record<string, string>>,
  signatureId: string,
  name: string,
  act: string | undefined,
): string {
  if (Object.hasOwn(actionMap, signatureId)) return actionMap[signatureId] as string
  if (Object.hasOwn(actionMap, name)) return actionMap[name] as string
  if (act !== undefined) {
    const fromAct = reduceToAction(act)
    if (fromAct !== undefined) return fromAct
  }
  return reduceToAction(name) ?? FALLBACK_ACTION
}

/**
 * Reduces free text to the action pattern: lowercase, each run of other
 * characters becomes `_`, each dotted word starts with a letter, at most 256
 * characters. Returns undefined when no letter is left.
 */
export function reduceToAction(text: string): string | undefined {
  if (text.length <= MAX_ACTION_LENGTH && ACTION_PATTERN.test(text)) return text
  const words: string[] = []
  for (const part of text.toLowerCase().replace(/[^a-z0-9_.]+/g, '_').split('.')) {
    const word = part.replace(/^[^a-z]+/, '').replace(/_+$/, '')
    if (word.length > 0) words.push(word)
  }
  let action = words.join('.')
  if (action.length > MAX_ACTION_LENGTH) action = action.slice(0, MAX_ACTION_LENGTH).replace(/[._]+$/, '')
  return action.length > 0 ? action : undefined
}
