import { readFileSync } from 'node:fs'

/** The OpenSSH corpus as CEF lines; see test/fixtures/README-cef.md. */
export const CORPUS_PATH = new URL('../../../test/fixtures/openssh-2k.cef.log', import.meta.url)

export function readCorpusLines(): string[] {
  return readFileSync(CORPUS_PATH, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
}

/** Counts by action of the corpus, from its README. */
export const CORPUS_ACTION_COUNTS: Record<string, number> = {
  'auth.failure': 523,
  'auth.pam_failure': 504,
  'session.disconnected': 468,
  'auth.invalid_user': 225,
  'auth.unknown_user': 135,
  'network.reverse_dns_mismatch': 85,
  'session.closed': 34,
  'network.scan': 10,
  'auth.retry_limit': 7,
  'auth.lockout': 3,
  'system.event': 2,
  'auth.login': 1,
  'session.created': 1,
  'session.terminated': 1,
  'session.error': 1,
}

export const CORPUS_CRITICAL_COUNT = 3
