import type { Logger } from '../../logger.js'
import type { DamagedRange } from './record-parser.js'

/** Logs a damaged range of a segment so an operator can find it: file, byte offset, length, reason. */
export function reportDamage(logger: Logger, segmentPath: string, range: DamagedRange): void {
  logger.warn(
    { segment: segmentPath, offset: range.offset, length: range.length, reason: range.reason },
    'damaged spool record skipped',
  )
}
