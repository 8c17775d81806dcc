/**
 * Compares the free-text index of the events table (tokenbf_v1, a bloom
 * filter of tokens) with ClickHouse's `text` index (an inverted index) on
 * the embedded engine. The statements are the ones the search API sends:
 * hasToken on each token of the text, then a phrase `match` on the rows that
 * remain.
 *
 * Run: npx tsc -p . && node dist/bench/text-index.js [--rows 2000000] [--runs 5]
 *
 * Both tables get the same generated sshd-like lines, sorted like `events`.
 * It prints build time, index size on disk and the median latency of each
 * search, with skip indexes on and off.
 *
 * The variants with fewer hash functions show what the index costs to build
 * against what it saves in searches. With 2M rows on 2 cores, one hash
 * function instead of three cut the build from 3.5 to 3.0 s (no index: 2.3 s)
 * and made the rare-token search 55 ms instead of 17 ms (no index: 67 ms).
 *
 * NOTE: on 2 cores with 2M rows (chdb 3.4, ClickHouse 26.7) the text index
 * answered every search faster (a phrase in 7 ms against 111 ms) with an
 * index 16 times larger and a build twice as slow. The migrations keep
 * tokenbf_v1 all the same: the deployment's ClickHouse server is 25.8, where
 * the text index is still experimental with other tokenizer names, and the
 * same DDL must run on the embedded engine and on the server.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Session } from 'chdb'
import { phrasePattern, tokenize } from '../src/query/text-match.js'
import { median } from './support/stats.js'

interface Variant {
  name: string
  index: string
}

const VARIANTS: Variant[] = [
  { name: 'tokenbf_v1', index: 'INDEX idx_raw_tokens raw TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 4' },
  { name: 'tokenbf_two_hashes', index: 'INDEX idx_raw_tokens raw TYPE tokenbf_v1(32768, 2, 0) GRANULARITY 4' },
  { name: 'tokenbf_one_hash', index: 'INDEX idx_raw_tokens raw TYPE tokenbf_v1(32768, 1, 0) GRANULARITY 4' },
  { name: 'text', index: 'INDEX idx_raw_tokens raw TYPE text(tokenizer = splitByNonAlpha)' },
  { name: 'none', index: '' },
]

/** Searches: a token on 10 rows, a user on about 1 row in 5000, a phrase, and a token on 40% of rows. */
const SEARCHES = [
  { name: 'rare token', text: 'needlewebmaster' },
  { name: 'one user', text: 'user4242' },
  { name: 'phrase with an address', text: 'Invalid user user4242 from 203.0.146.16' },
  { name: 'common token', text: 'Failed' },
]

const { values } = parseArgs({ options: { rows: { type: 'string', default: '2000000' }, runs: { type: 'string', default: '5' } } })
const ROWS = Number(values.rows)
const RUNS = Number(values.runs)

/** The generated line of row `number`, in SQL: five message kinds, 5000 users, 65536 addresses. */
const RAW_SQL = `concat(
  'Dec 10 06:55:46 ssh-gw-01 sshd[', toString(number % 30000), ']: ',
  multiIf(
    number % 5 IN (0, 1), concat('Failed password for user', toString(number % 5000), ' from 203.0.', toString(number % 256), '.', toString(intDiv(number, 256) % 256), ' port ', toString(1024 + number % 60000), ' ssh2'),
    number % 5 = 2, concat('Invalid user user', toString(number % 5000), ' from 203.0.', toString(number % 256), '.', toString(intDiv(number, 256) % 256)),
    number % 5 = 3, concat('pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.', toString(number % 256), '.', toString(intDiv(number, 256) % 256)),
    concat('Received disconnect from 203.0.', toString(number % 256), '.', toString(intDiv(number, 256) % 256), ': 11: Bye Bye [preauth]')))`

function tableSql(variant: Variant): string {
  const index = variant.index === '' ? '' : `,\n  ${variant.index}`
  return `CREATE TABLE bench_${variant.name} (
  tenant_id LowCardinality(String),
  source_product LowCardinality(String),
  timestamp DateTime64(6, 'UTC'),
  event_id UUID,
  raw String CODEC(ZSTD(3))${index}
) ENGINE = MergeTree
ORDER BY (tenant_id, source_product, toStartOfHour(timestamp), event_id)
SETTINGS index_granularity = 8192`
}

function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

function searchSql(table: string, text: string, skipIndexes: boolean): string {
  const tokens = tokenize(text).map((token) => `hasToken(raw, ${quote(token)})`)
  const conditions = ["tenant_id = 'bench'", ...tokens, `match(raw, ${quote(phrasePattern(text, false))})`]
  // The query condition cache would serve every repeat of a statement from the first run's granule list.
  return `SELECT count() FROM ${table} WHERE ${conditions.join(' AND ')} SETTINGS use_skip_indexes = ${skipIndexes ? 1 : 0}, use_query_condition_cache = 0`
}

function timed<T>(work: () => T): { value: T; ms: number } {
  const started = performance.now()
  const value = work()
  return { value, ms: performance.now() - started }
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'siem-bench-text-'))
  const session = new Session(dir)
  const query = (sql: string): string => session.query(sql, 'TSV').trim()
  try {
    process.stdout.write(`ClickHouse ${query('SELECT version()')}, ${ROWS} rows, median of ${RUNS} runs\n\n`)
    for (const variant of VARIANTS) {
      query(tableSql(variant))
      // Ten rows carry the rare token, spread over the whole table.
      const build = timed(() => {
        for (let start = 0; start < ROWS; start += 500_000) {
          const count = Math.min(500_000, ROWS - start)
          query(`INSERT INTO bench_${variant.name}
            SELECT 'bench', 'openssh', toDateTime64('2025-01-01 00:00:00', 6, 'UTC') + toIntervalSecond(number % 86400),
              generateUUIDv4(number), if(number % ${Math.max(1, Math.floor(ROWS / 10))} = 7, concat(${RAW_SQL}, ' needlewebmaster'), ${RAW_SQL})
            FROM numbers(${start}, ${count})`)
        }
        query(`OPTIMIZE TABLE bench_${variant.name} FINAL`)
      })
      const size = query(`SELECT sum(data_compressed_bytes) FROM system.data_skipping_indices WHERE table = 'bench_${variant.name}'`)
      process.stdout.write(`${variant.name}: build ${(build.ms / 1000).toFixed(1)} s, index ${(Number(size) / 1048576).toFixed(1)} MiB\n`)
    }
    process.stdout.write('\nsearch                           rows  ' + VARIANTS.map((variant) => variant.name.padStart(12)).join('') + '  no-skip (tokenbf table)\n')
    for (const search of SEARCHES) {
      let rows = ''
      const cells: string[] = []
      for (const variant of VARIANTS) {
        const table = `bench_${variant.name}`
        query(searchSql(table, search.text, true))
        const samples = Array.from({ length: RUNS }, () => timed(() => query(searchSql(table, search.text, true))))
        rows = samples[0]?.value ?? ''
        cells.push(`${median(samples.map((sample) => sample.ms)).toFixed(1)} ms`.padStart(12))
      }
      const noSkip = median(Array.from({ length: RUNS }, () => timed(() => query(searchSql('bench_tokenbf_v1', search.text, false))).ms))
      process.stdout.write(`${search.name.padEnd(30)} ${rows.padStart(6)}  ${cells.join('')}  ${noSkip.toFixed(1).padStart(8)} ms\n`)
    }
  } finally {
    session.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
}

main()
