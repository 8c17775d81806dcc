import { accessSync, constants, readFileSync } from 'node:fs'
import { SiemError } from '../errors.js'
import { parseCommandArgs } from './args.js'
import { rebaseEventLines } from './rebase-time.js'

const HELP = `usage: siem send FILE --url URL [--api-key KEY] [--rebase-time] [--batch-size N]
       siem send FILE --protocol tcp|udp --host HOST --port PORT [--rebase-time] [--rate N]

Sends a file of events. Over HTTP (the default) FILE is NDJSON, one event a
line, posted to URL/v1/events in batches of --batch-size lines (default
500); answers 429 and 503 are retried after their Retry-After. With
--protocol tcp or udp, FILE holds CEF lines. --rebase-time shifts
timestamps so the newest event lands at now and the spacing is kept.
Prints a JSON summary; exits 1 when any event was not accepted.`

interface SendSummary {
  lines: number
  requests: number
  accepted: number
  quarantined: number
  duplicates: number
  failed: number
}

const SEND_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'rebase-time': { type: 'boolean', default: false },
  'batch-size': { type: 'string', default: '500' },
  'max-retries': { type: 'string', default: '30' },
  protocol: { type: 'string', default: 'http' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  rate: { type: 'string' },
  tls: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const

function positiveInteger(name: string, value: string): number {
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new SiemError('SIEM_ERR_CLI_USAGE', `--${name} must be a positive integer; got ${JSON.stringify(value)}`)
  }
  return number
}

export async function runSend(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, SEND_OPTIONS, true)
  if (values.help === true) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const file = positionals[0]
  if (file === undefined) throw new SiemError('SIEM_ERR_CLI_USAGE', 'siem send needs a FILE to send')
  try {
    accessSync(file, constants.R_OK)
  } catch (err) {
    throw new SiemError('SIEM_ERR_CLI_USAGE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { value: file })
  }
  if (values.protocol === 'tcp' || values.protocol === 'udp') {
    if (values.port === undefined) throw new SiemError('SIEM_ERR_CLI_USAGE', `--protocol ${values.protocol} needs --port`)
    const { sendCefFile } = await import('../ingest/cef/sender.js')
    const target = `${values.protocol}://${values.host}:${values.port}`
    const result = await sendCefFile({
      file,
      protocol: values.protocol,
      host: values.host,
      port: positiveInteger('port', values.port),
      rebaseTime: values['rebase-time'],
      tls: values.tls,
      ...(values.rate === undefined ? {} : { ratePerSecond: positiveInteger('rate', values.rate) }),
    }).catch((err: unknown) => {
      const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))
      throw new SiemError('SIEM_ERR_CLI_SEND_FAILED', `sending to ${target} failed: ${reason}; is a CEF listener there?`, {
        value: target,
        cause: err,
      })
    })
    process.stdout.write(JSON.stringify(result) + '\n')
    return 0
  }
  if (values.protocol !== 'http') {
    throw new SiemError('SIEM_ERR_CLI_USAGE', `--protocol must be http, tcp or udp; got ${JSON.stringify(values.protocol)}`)
  }
  if (values.url === undefined) throw new SiemError('SIEM_ERR_CLI_USAGE', 'siem send needs --url, such as --url http://127.0.0.1:8080')
  const summary = await sendNdjson({
    file,
    url: values.url,
    apiKey: values['api-key'] ?? process.env['SIEM_API_KEY'],
    rebaseTime: values['rebase-time'],
    batchSize: positiveInteger('batch-size', values['batch-size']),
    maxRetries: positiveInteger('max-retries', values['max-retries']),
  })
  process.stdout.write(JSON.stringify(summary) + '\n')
  return summary.failed === 0 && summary.quarantined === 0 ? 0 : 1
}

export interface SendNdjsonOptions {
  file: string
  url: string
  apiKey: string | undefined
  rebaseTime: boolean
  batchSize: number
  maxRetries: number
}

/** Posts an NDJSON file to /v1/events in batches, retrying 429 and 503 responses. */
export async function sendNdjson(options: SendNdjsonOptions): Promise<SendSummary> {
  let lines = readFileSync(options.file, 'utf8').split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '')
  if (options.rebaseTime) lines = rebaseEventLines(lines)
  const endpoint = `${options.url.replace(/\/$/, '')}/v1/events`
  const summary: SendSummary = { lines: lines.length, requests: 0, accepted: 0, quarantined: 0, duplicates: 0, failed: 0 }
  for (let start = 0; start < lines.length; start += options.batchSize) {
    const batch = lines.slice(start, start + options.batchSize)
    const answer = await postBatch(endpoint, batch.join('\n') + '\n', options)
    summary.requests++
    if (answer === undefined) {
      summary.failed += batch.length
      continue
    }
    summary.accepted += answer.accepted
    summary.quarantined += answer.quarantined
    summary.duplicates += answer.duplicates
  }
  return summary
}

interface IngestAnswer {
  accepted: number
  quarantined: number
  duplicates: number
}

async function postBatch(endpoint: string, body: string, options: SendNdjsonOptions): Promise<IngestAnswer | undefined> {
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' }
  if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey
  for (let attempt = 0; attempt <= options.maxRetries; attempt++) {
    let response: Response
    try {
      response = await fetch(endpoint, { method: 'POST', headers, body })
    } catch (err) {
      process.stderr.write(`siem send: ${endpoint} did not respond (${err instanceof Error ? err.message : String(err)}); retrying\n`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      continue
    }
    const text = await response.text()
    if (response.status === 429 || response.status === 503) {
      const wait = Number(response.headers.get('retry-after') ?? '1')
      await new Promise((resolve) => setTimeout(resolve, Math.max(0.1, Number.isFinite(wait) ? wait : 1) * 1000))
      continue
    }
    const answer = JSON.parse(text) as Partial<IngestAnswer> & { error?: { message?: string } }
    if (response.status >= 400 && answer.accepted === undefined) {
      process.stderr.write(`siem send: ${endpoint} responded ${response.status}: ${answer.error?.message ?? text.slice(0, 300)}\n`)
      return undefined
    }
    return { accepted: answer.accepted ?? 0, quarantined: answer.quarantined ?? 0, duplicates: answer.duplicates ?? 0 }
  }
  process.stderr.write(`siem send: gave up on a batch after ${options.maxRetries} retries\n`)
  return undefined
}
