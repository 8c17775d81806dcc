/**
 * CEF custom fields: a value key such as `cs1` with a label key `cs1Label`.
 * The normalizer stores each as a metadata entry named by its label.
 */

export type CustomFieldKind = 'string' | 'number' | 'date'

function numbered(prefix: string, count: number, kind: CustomFieldKind): Array<[string, CustomFieldKind]> {
  const keys: Array<[string, CustomFieldKind]> = []
  for (let index = 1; index <= count; index++) keys.push([`${prefix}${index}`, kind])
  return keys
}

/** Custom value keys of the CEF specification (short and long names) and the type of their values. */
export const CUSTOM_FIELDS: ReadonlyMap<string, CustomFieldKind> = new Map([
  ...numbered('cs', 6, 'string'),
  ...numbered('deviceCustomString', 6, 'string'),
  ...numbered('cn', 3, 'number'),
  ...numbered('deviceCustomNumber', 3, 'number'),
  ...numbered('cfp', 4, 'number'),
  ...numbered('deviceCustomFloatingPoint', 4, 'number'),
  ...numbered('c6a', 4, 'string'),
  ...numbered('deviceCustomIPv6Address', 4, 'string'),
  ...numbered('flexString', 2, 'string'),
  ...numbered('flexNumber', 2, 'number'),
  ...numbered('deviceFlexNumber', 2, 'number'),
  ...numbered('flexDate', 1, 'date'),
  ...numbered('deviceCustomDate', 2, 'date'),
])

const LABEL_SUFFIX = 'Label'

/** Returns the value key a label key belongs to (`cs1Label` → `cs1`), or undefined. */
export function labelledKey(key: string): string | undefined {
  if (!key.endsWith(LABEL_SUFFIX)) return undefined
  const base = key.slice(0, -LABEL_SUFFIX.length)
  return CUSTOM_FIELDS.has(base) ? base : undefined
}

export function labelKeyOf(key: string): string {
  return key + LABEL_SUFFIX
}
