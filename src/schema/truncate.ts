/**
 * Cuts text to at most `maxLength` UTF-16 code units without splitting a
 * surrogate pair. Half a pair is a lone surrogate, which UTF-8 cannot encode
 * and ClickHouse rejects in JSON input.
 */
export function truncateText(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text
  const last = text.charCodeAt(maxLength - 1)
  const end = last >= 0xd800 && last <= 0xdbff ? maxLength - 1 : maxLength
  return text.slice(0, end)
}
