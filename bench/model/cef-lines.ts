import { syslogTime, type InputEvent } from './js-generator.js'

/** CEF header vendor and product of each model product. */
const CEF_DEVICES: Record<string, { vendor: string; product: string }> = {
  openssh: { vendor: 'OpenBSD', product: 'OpenSSH' },
  nginx: { vendor: 'F5', product: 'NGINX' },
  sudo: { vendor: 'sudo-project', product: 'sudo' },
  'boundary-daemon': { vendor: 'Boundary', product: 'boundary-daemon' },
}

/** CEF header fields escape the backslash and the pipe. */
function headerField(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('|', '\\|')
}

/** CEF extension values escape the backslash, the equals sign and line breaks. */
function extensionValue(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('=', '\\=').replaceAll('\r', '\\r').replaceAll('\n', '\\n')
}

/**
 * Renders a model event as an RFC 3164 syslog line carrying CEF, the way
 * the OpenSSH sample's CEF file does: signature id and name are the action,
 * `rt` the time in epoch milliseconds, `msg` the raw line.
 */
export function toCefLine(event: InputEvent): string {
  const date = new Date(event.timestamp)
  const device = CEF_DEVICES[event.source.product] ?? { vendor: 'Unknown', product: event.source.product }
  const header = [
    'CEF:0',
    headerField(device.vendor),
    headerField(device.product),
    headerField(event.source.version),
    headerField(event.action),
    headerField(event.action),
    String(event.severity),
  ].join('|')
  const extension = [`rt=${date.getTime()}`, `dvchost=${extensionValue(event.source.host)}`]
  if (event.actor?.id !== undefined) extension.push(`suser=${extensionValue(event.actor.id)}`)
  if (event.actor?.ip_address !== undefined) extension.push(`src=${event.actor.ip_address}`)
  extension.push(`outcome=${event.outcome}`, `msg=${extensionValue(event.raw)}`)
  return `<38>${syslogTime(date)} ${event.source.host} ${header}|${extension.join(' ')}`
}
