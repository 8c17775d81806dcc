import type { Outcome } from '../../src/schema/event.js'

/**
 * The distribution the benchmark sends and stores: tenants, products,
 * actions, actors, addresses and raw lines. The OpenSSH part follows a real
 * OpenSSH server log of 2000 lines (loghub OpenSSH_2k, also in
 * test/fixtures/openssh-2k.events.ndjson): its actions with their counts as
 * weights, its severities, outcomes and actor shapes, and its message texts.
 * The web, sudo and session-daemon products are modeled on the usual log
 * formats of those programs, so that a tenant sees several products.
 *
 * Templates hold placeholders that both generators fill in the same way:
 * the JavaScript one for HTTP load and the SQL one for the query data set.
 * `{name}` is one of PLACEHOLDERS; `{a|b|c}` picks one of the options
 * uniformly.
 */

export const PLACEHOLDERS = ['time', 'clf_time', 'host', 'pid', 'user', 'ip', 'port', 'rdns', 'num', 'octet', 'hex'] as const
export type PlaceholderName = (typeof PLACEHOLDERS)[number]

export interface ActorShape {
  /** actor.id and actor.name are `{user}`, or `fixedId` when set. */
  id: boolean
  /** actor.ip_address is `{ip}`. */
  ip: boolean
  fixedId?: string
}

export interface TemplateModel {
  action: string
  /** Relative weight within the product. */
  weight: number
  severity: number
  outcome: Outcome
  /** Undefined for events without an actor. */
  actor: ActorShape | undefined
  /** The raw line after the product's prefix. */
  message: string
}

export interface ProductModel {
  product: string
  version: string
  /** Relative weight among products. */
  weight: number
  hostPrefix: string
  hostCount: number
  instance: string
  target: string
  rawPrefix: string
  templates: TemplateModel[]
}

export interface TenantModel {
  id: string
  weight: number
}

export const TENANTS: readonly TenantModel[] = [
  { id: 'acme', weight: 60 },
  { id: 'globex', weight: 30 },
  { id: 'initech', weight: 10 },
]

/** Account names seen in SSH brute-force logs; the most frequent first, so that the skew favours them. */
export const NAMED_USERS: readonly string[] = [
  'root', 'admin', 'unknown', 'test', 'oracle', 'support', 'guest', 'user', 'ubuntu', 'postgres',
  'ftpuser', 'git', 'pi', 'deploy', 'webmaster', 'uucp', 'matlab', 'inspur', 'nagios', 'mysql',
]

/** Distinct actor names: NAMED_USERS, then `u<index>` up to this count. */
export const USER_POOL_SIZE = 5000
/** Distinct client addresses: the documentation ranges first, then 10.0.0.0/8. */
export const IP_POOL_SIZE = 20000
/**
 * Skew of the pools: index = floor(r ** exponent * size) with r uniform in
 * [0, 1), so a few actors and addresses carry most events, as in the
 * OpenSSH log where one address sent 43 % of the lines.
 */
export const USER_SKEW = 3
export const IP_SKEW = 2.5

/** The three documentation ranges the OpenSSH sample's addresses were mapped to. */
export const DOCUMENTATION_BLOCKS: readonly string[] = ['192.0.2', '198.51.100', '203.0.113']

const SSH_TEMPLATES: TemplateModel[] = [
  { action: 'auth.failure', weight: 300, severity: 5, outcome: 'failure', actor: { id: true, ip: true }, message: 'Failed password for invalid user {user} from {ip} port {port} ssh2' },
  { action: 'auth.failure', weight: 223, severity: 5, outcome: 'failure', actor: { id: true, ip: true }, message: 'Failed password for {user} from {ip} port {port} ssh2' },
  { action: 'auth.pam_failure', weight: 400, severity: 4, outcome: 'failure', actor: { id: false, ip: true }, message: 'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}' },
  { action: 'auth.pam_failure', weight: 104, severity: 4, outcome: 'failure', actor: undefined, message: 'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={rdns}  user={user}' },
  { action: 'session.disconnected', weight: 468, severity: 1, outcome: 'unknown', actor: { id: false, ip: true }, message: 'Received disconnect from {ip}: 11: Bye Bye [preauth]' },
  { action: 'auth.invalid_user', weight: 120, severity: 4, outcome: 'failure', actor: { id: true, ip: true }, message: 'Invalid user {user} from {ip}' },
  { action: 'auth.invalid_user', weight: 105, severity: 4, outcome: 'failure', actor: { id: true, ip: false }, message: 'input_userauth_request: invalid user {user} [preauth]' },
  { action: 'auth.unknown_user', weight: 135, severity: 3, outcome: 'failure', actor: { id: true, ip: false, fixedId: 'unknown' }, message: 'pam_unix(sshd:auth): check pass; user unknown' },
  { action: 'network.reverse_dns_mismatch', weight: 85, severity: 7, outcome: 'failure', actor: { id: false, ip: true }, message: 'reverse mapping checking getaddrinfo for {rdns} [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!' },
  { action: 'session.closed', weight: 34, severity: 1, outcome: 'unknown', actor: { id: false, ip: true }, message: 'Connection closed by {ip} [preauth]' },
  { action: 'network.scan', weight: 10, severity: 5, outcome: 'unknown', actor: { id: false, ip: true }, message: 'Did not receive identification string from {ip}' },
  { action: 'auth.retry_limit', weight: 7, severity: 5, outcome: 'failure', actor: undefined, message: 'PAM service(sshd) ignoring max retries; {5|6} > 3' },
  { action: 'auth.lockout', weight: 3, severity: 8, outcome: 'failure', actor: undefined, message: 'Disconnecting: Too many authentication failures for {user} [preauth]' },
  { action: 'auth.login', weight: 1, severity: 3, outcome: 'success', actor: { id: true, ip: true }, message: 'Accepted password for {user} from {ip} port {port} ssh2' },
  { action: 'session.created', weight: 1, severity: 2, outcome: 'success', actor: { id: true, ip: false }, message: 'pam_unix(sshd:session): session opened for user {user} by (uid=0)' },
  { action: 'session.terminated', weight: 1, severity: 2, outcome: 'success', actor: { id: true, ip: false }, message: 'pam_unix(sshd:session): session closed for user {user}' },
  { action: 'session.error', weight: 1, severity: 2, outcome: 'failure', actor: undefined, message: 'fatal: Write failed: Connection reset by peer [preauth]' },
]

const USER_AGENTS = '{Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0|curl/8.5.0|python-requests/2.31.0|Go-http-client/1.1}'
const HTTP_PATH = '/api/v1/{orders|users|items|search|sessions|reports}/{num}'

const WEB_TEMPLATES: TemplateModel[] = [
  { action: 'http.request', weight: 88, severity: 2, outcome: 'success', actor: { id: false, ip: true }, message: `{ip} - - [{clf_time}] "{GET|GET|GET|POST|PUT} ${HTTP_PATH} HTTP/1.1" {200|200|200|201|204|304} {num} "-" "${USER_AGENTS}"` },
  { action: 'http.request', weight: 10, severity: 4, outcome: 'failure', actor: { id: false, ip: true }, message: `{ip} - - [{clf_time}] "{GET|POST|DELETE} ${HTTP_PATH} HTTP/1.1" {400|401|403|404|404|429} {num} "-" "${USER_AGENTS}"` },
  { action: 'http.server_error', weight: 2, severity: 6, outcome: 'failure', actor: { id: false, ip: true }, message: `{ip} - - [{clf_time}] "{GET|POST} ${HTTP_PATH} HTTP/1.1" {500|502|503|504} {num} "-" "${USER_AGENTS}"` },
]

const SUDO_COMMANDS = '{/usr/bin/systemctl restart nginx|/usr/bin/apt-get update|/bin/journalctl -u sshd|/usr/bin/docker ps|/bin/bash}'

const SUDO_TEMPLATES: TemplateModel[] = [
  { action: 'process.privilege_escalation', weight: 85, severity: 4, outcome: 'success', actor: { id: true, ip: false }, message: `{user} : TTY=pts/{octet} ; PWD=/home/{user} ; USER=root ; COMMAND=${SUDO_COMMANDS}` },
  { action: 'auth.failure', weight: 10, severity: 6, outcome: 'failure', actor: { id: true, ip: false }, message: `{user} : {1|2|3} incorrect password attempts ; TTY=pts/{octet} ; PWD=/home/{user} ; USER=root ; COMMAND=${SUDO_COMMANDS}` },
  { action: 'access.denied', weight: 5, severity: 7, outcome: 'failure', actor: { id: true, ip: false }, message: `{user} : user NOT in sudoers ; TTY=pts/{octet} ; PWD=/home/{user} ; USER=root ; COMMAND=${SUDO_COMMANDS}` },
]

const DAEMON_POLICY = 'policy={default|prod-db|bastion|ci-runner}'

const DAEMON_TEMPLATES: TemplateModel[] = [
  { action: 'session.created', weight: 30, severity: 3, outcome: 'success', actor: { id: true, ip: true }, message: `msg="session created" session_id=s_{hex} user={user} src={ip} ${DAEMON_POLICY}` },
  { action: 'session.terminated', weight: 28, severity: 2, outcome: 'success', actor: { id: true, ip: true }, message: `msg="session terminated" session_id=s_{hex} user={user} src={ip} reason={closed_by_user|idle_timeout|max_duration}` },
  { action: 'auth.login', weight: 20, severity: 3, outcome: 'success', actor: { id: true, ip: true }, message: 'msg="authentication succeeded" user={user} src={ip} method={password|oidc|ldap}' },
  { action: 'auth.failure', weight: 8, severity: 6, outcome: 'failure', actor: { id: true, ip: true }, message: 'msg="authentication failed" user={user} src={ip} method={password|oidc|ldap} error="invalid credentials"' },
  { action: 'auth.mfa_failure', weight: 3, severity: 7, outcome: 'failure', actor: { id: true, ip: true }, message: 'msg="second factor rejected" user={user} src={ip} factor={totp|webauthn}' },
  { action: 'access.granted', weight: 8, severity: 2, outcome: 'success', actor: { id: true, ip: true }, message: `msg="target access granted" user={user} src={ip} target=tcp://10.20.{octet}.5:5432 ${DAEMON_POLICY}` },
  { action: 'access.denied', weight: 3, severity: 8, outcome: 'failure', actor: { id: true, ip: true }, message: `msg="target access denied" user={user} src={ip} target=tcp://10.20.{octet}.5:22 ${DAEMON_POLICY}` },
]

export const PRODUCTS: readonly ProductModel[] = [
  { product: 'openssh', version: '7.2', weight: 50, hostPrefix: 'ssh-gw', hostCount: 8, instance: 'sshd-{pid}', target: 'ssh:{host}', rawPrefix: '{time} {host} sshd[{pid}]: ', templates: SSH_TEMPLATES },
  { product: 'nginx', version: '1.24.0', weight: 25, hostPrefix: 'web', hostCount: 12, instance: 'nginx-{pid}', target: 'http:{host}', rawPrefix: '', templates: WEB_TEMPLATES },
  { product: 'sudo', version: '1.9.15', weight: 10, hostPrefix: 'app', hostCount: 20, instance: 'sudo-{pid}', target: 'host:{host}', rawPrefix: '{time} {host} sudo[{pid}]: ', templates: SUDO_TEMPLATES },
  { product: 'boundary-daemon', version: '0.4.1', weight: 15, hostPrefix: 'bd', hostCount: 4, instance: 'bd-{pid}', target: 'daemon:{host}', rawPrefix: '{time} {host} boundary-daemon[{pid}]: level=info ', templates: DAEMON_TEMPLATES },
]

/** One template with its product and its share of all events. */
export interface FlatTemplate {
  product: ProductModel
  template: TemplateModel
  /** Share of all events, so that the shares of all templates add up to 1. */
  share: number
  /** Full raw template: the product's prefix and the message. */
  raw: string
}

/** Every template of every product, with the product weight and the template weight combined. */
export function flattenTemplates(products: readonly ProductModel[] = PRODUCTS): FlatTemplate[] {
  const productTotal = products.reduce((sum, product) => sum + product.weight, 0)
  const flat: FlatTemplate[] = []
  for (const product of products) {
    const templateTotal = product.templates.reduce((sum, template) => sum + template.weight, 0)
    for (const template of product.templates) {
      flat.push({
        product,
        template,
        share: (product.weight / productTotal) * (template.weight / templateTotal),
        raw: product.rawPrefix + template.message,
      })
    }
  }
  return flat
}

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'placeholder'; name: PlaceholderName }
  | { kind: 'choice'; options: string[] }

/** Splits a template into literal text, placeholders and choices; throws on an unknown placeholder. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = []
  const pattern = /\{([^{}]+)\}/g
  let last = 0
  for (const match of template.matchAll(pattern)) {
    const index = match.index
    if (index > last) parts.push({ kind: 'text', text: template.slice(last, index) })
    const inner = match[1] as string
    if (inner.includes('|')) {
      parts.push({ kind: 'choice', options: inner.split('|') })
    } else if ((PLACEHOLDERS as readonly string[]).includes(inner)) {
      parts.push({ kind: 'placeholder', name: inner as PlaceholderName })
    } else {
      throw new Error(`unknown placeholder {${inner}} in template ${JSON.stringify(template)}`)
    }
    last = index + match[0].length
  }
  if (last < template.length) parts.push({ kind: 'text', text: template.slice(last) })
  return parts
}

/** True when the template uses the placeholder; decides which metadata keys an event has. */
export function usesPlaceholder(template: string, name: PlaceholderName): boolean {
  return template.includes(`{${name}}`)
}

/** Name of the user at a pool index. */
export function userAt(index: number): string {
  return index < NAMED_USERS.length ? (NAMED_USERS[index] as string) : `u${index}`
}

/** Address at a pool index: the documentation ranges first (254 hosts each), then 10.0.0.0/8. */
export function ipAt(index: number): string {
  const documentationHosts = DOCUMENTATION_BLOCKS.length * 254
  if (index < documentationHosts) {
    return `${DOCUMENTATION_BLOCKS[Math.floor(index / 254)]}.${(index % 254) + 1}`
  }
  const rest = index - documentationHosts
  return `10.${(rest >> 16) & 255}.${(rest >> 8) & 255}.${rest & 255}`
}
