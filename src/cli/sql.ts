import { SiemError } from '../errors.js'
import { runReadOnlySql } from '../query/readonly-sql.js'
import { openStorage } from '../storage/client.js'
import { CONFIG_OPTIONS, configFromArgs, parseCommandArgs } from './args.js'
import { OUTPUT_FORMATS, formatRows, type OutputFormat } from './output.js'
import { postJson } from './http-client.js'

const HELP = `usage: siem sql "<query>" [--url URL] [--api-key KEY] [--format table|json|ndjson]
                [--config FILE] [--data-dir DIR]

Runs one read-only statement. With --url it asks a running server
(POST /v1/sql, which needs an admin key); without it, it opens the data
directory itself, which works only while no server holds that directory.
--format json prints a JSON array of row objects.`

export async function runSql(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { ...CONFIG_OPTIONS, url: { type: 'string' }, 'api-key': { type: 'string' }, format: { type: 'string', default: 'table' } },
    true,
  )
  if (values.help === true) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const query = positionals.join(' ')
  if (query.trim() === '') throw new SiemError('SIEM_ERR_CLI_USAGE', 'siem sql needs a query, such as siem sql "SELECT count() FROM events"')
  const format = values.format as OutputFormat
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new SiemError('SIEM_ERR_CLI_USAGE', `--format must be one of ${OUTPUT_FORMATS.join(', ')}; got ${JSON.stringify(values.format)}`)
  }

  let rows: Record<string, unknown>[]
  if (values.url !== undefined) {
    const apiKey = values['api-key'] ?? process.env['SIEM_API_KEY']
    const response = await postJson(`${values.url.replace(/\/$/, '')}/v1/sql`, { query }, apiKey)
    rows = (response as { rows: Record<string, unknown>[] }).rows
  } else {
    const config = configFromArgs(values)
    const storage = await openStorage(config.storage)
    try {
      rows = (await runReadOnlySql(storage.client, query, { timeoutMs: config.query.timeout, maxRows: config.query.max_rows })).rows
    } finally {
      await storage.close()
    }
  }
  process.stdout.write(formatRows(rows, format))
  return 0
}
