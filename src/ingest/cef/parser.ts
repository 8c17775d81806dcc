import type { FieldError } from '../../schema/event.js'
import { parseExtension, type CefExtension } from './extension.js'
import { findCefStart, splitHeader, type CefHeader } from './header.js'
import { parseSyslogPrefix, type SyslogPrefix } from './syslog.js'

/** One CEF line split into its syslog prefix, header fields and extension fields. */
export interface CefRecord extends CefHeader {
  /** Offset of `CEF:` in the line. */
  cefStart: number
  syslog: SyslogPrefix
  extension: CefExtension
  /** Text at the start of the extension that is not a `key=value` pair. */
  extensionLeadingText: string | undefined
}

export type CefParseResult = { ok: true; record: CefRecord } | { ok: false; error: FieldError }

/** CEF versions this parser reads; the header layout is the same for both. */
const SUPPORTED_VERSIONS = new Set([0, 1])

/**
 * Parses one CEF line. Never throws: input that is not CEF returns a
 * FieldError with a stable code.
 */
export function parseCefLine(line: string): CefParseResult {
  const cefStart = findCefStart(line)
  if (cefStart === -1) {
    return failure('cef_header_missing', 'no CEF header: expected CEF:<version>| in the message')
  }
  const header = splitHeader(line, cefStart)
  if (header === null) {
    return failure(
      'cef_header_incomplete',
      'incomplete CEF header: expected Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|',
    )
  }
  if (!SUPPORTED_VERSIONS.has(header.version)) {
    return failure('cef_version_unsupported', `unsupported CEF version ${header.version}: expected 0 or 1`)
  }
  const extension = parseExtension(line, header.extensionStart)
  const record: CefRecord = {
    version: header.version,
    deviceVendor: header.deviceVendor,
    deviceProduct: header.deviceProduct,
    deviceVersion: header.deviceVersion,
    signatureId: header.signatureId,
    name: header.name,
    severity: header.severity,
    extensionStart: header.extensionStart,
    cefStart,
    syslog: parseSyslogPrefix(line, cefStart),
    extension: extension.fields,
    extensionLeadingText: extension.leadingText,
  }
  return { ok: true, record }
}

function failure(code: string, message: string): CefParseResult {
  return { ok: false, error: { field: '', code, message } }
}
