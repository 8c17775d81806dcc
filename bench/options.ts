import { parseArgs } from 'node:util'

export const STAGES = ['ceiling', 'end-to-end', 'fixed-rate', 'soak', 'cef', 'queries', 'storage'] as const
export type StageName = (typeof STAGES)[number]

export interface BenchOptions {
  quick: boolean
  ceilingSeconds: number
  endToEndSeconds: number
  /** Requests in flight at most in the maximum-rate run. */
  concurrency: number
  rates: number[]
  rateSeconds: number
  /** 0 skips the soak. */
  soakSeconds: number
  soakRate: number
  udpSeconds: number
  udpRate: number
  tcpMessages: number
  queryEvents: number
  queryRepeats: number
  /** Directory for the CPU profiles of the ingest servers; undefined runs without. */
  profileDir: string | undefined
  /** Write bench/results and a BENCHMARKS.md section. */
  record: boolean
  stages: Set<StageName>
  /** Free text added to the BENCHMARKS.md section, such as what else ran on the machine. */
  note: string | undefined
  /** The command line as typed, for the record. */
  command: string
}

export const USAGE = `usage: npm run bench -- [options]

Measures ingest, query and storage figures of boundary-siem on this machine
and writes them to bench/results/ and BENCHMARKS.md.

  --quick                 short run for CI (under 2 minutes); no soak
  --soak SECONDS          soak duration (default 600, or 0 with --quick)
  --soak-rate N           events/s during the soak (default 5000)
  --duration SECONDS      maximum-rate end-to-end run (default 60, quick 10)
  --concurrency N         requests in flight in the maximum-rate run (default 6)
  --rate-seconds SECONDS  duration of each fixed-rate run (default 30, quick 5)
  --events N              events in the query data set (default 10000000, quick 500000)
  --profile DIR           run the ingest servers under node --cpu-prof, profiles into DIR
  --stages LIST           comma-separated subset of ${STAGES.join(',')}
  --note TEXT             note for the BENCHMARKS.md section
  --no-record             print the results only; write no files
  --help                  show this help`

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      soak: { type: 'string' },
      'soak-rate': { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string' },
      'rate-seconds': { type: 'string' },
      events: { type: 'string' },
      profile: { type: 'string' },
      stages: { type: 'string' },
      note: { type: 'string' },
      'no-record': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help === true) return 'help'
  const quick = values.quick === true
  const stages = new Set<StageName>(STAGES)
  if (values.stages !== undefined) {
    stages.clear()
    for (const name of values.stages.split(',')) {
      if (!(STAGES as readonly string[]).includes(name)) throw new Error(`--stages: unknown stage ${JSON.stringify(name)}; use ${STAGES.join(', ')}`)
      stages.add(name as StageName)
    }
  }
  return {
    quick,
    ceilingSeconds: quick ? 5 : 20,
    endToEndSeconds: positive(values.duration, '--duration', quick ? 10 : 60),
    concurrency: positive(values.concurrency, '--concurrency', 6),
    rates: [5000, 20000],
    rateSeconds: positive(values['rate-seconds'], '--rate-seconds', quick ? 5 : 30),
    soakSeconds: nonNegative(values.soak, '--soak', quick ? 0 : 600),
    soakRate: positive(values['soak-rate'], '--soak-rate', 5000),
    udpSeconds: quick ? 5 : 60,
    udpRate: 5000,
    tcpMessages: quick ? 50_000 : 500_000,
    queryEvents: positive(values.events, '--events', quick ? 500_000 : 10_000_000),
    queryRepeats: quick ? 10 : 30,
    profileDir: values.profile,
    record: values['no-record'] !== true,
    stages,
    note: values.note,
    command: commandLine(argv),
  }
}

function positive(text: string | undefined, name: string, fallback: number): number {
  const value = nonNegative(text, name, fallback)
  if (value === 0) throw new Error(`${name} must be greater than 0`)
  return value
}

function nonNegative(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number; got ${JSON.stringify(text)}`)
  return value
}

function commandLine(argv: string[]): string {
  const args = argv.map((arg) => (/^[\w./,=:-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ')
  if (process.env['npm_lifecycle_event'] === 'bench') return args === '' ? 'npm run bench' : `npm run bench -- ${args}`
  return `node dist/bench/main.js${args === '' ? '' : ` ${args}`}`
}
