#!/usr/bin/env node
import { isSiemError } from '../errors.js'
import { runMigrate } from './migrate.js'
import { runSearch } from './search.js'
import { runSend } from './send.js'
import { runServe } from './serve.js'
import { runSql } from './sql.js'

const USAGE = `usage: siem <command> [options]

commands:
  serve                      start the server (HTTP ingest, CEF listeners, writer)
  migrate                    apply pending migrations and retention, then exit
  sql "<query>"              run one read-only query; --url for a running server,
                             else directly on the data directory
  search [TEXT]              search events by time, --filter and free text;
                             --url for a running server, else the data directory
  send FILE --url URL        post an NDJSON file of events (or --protocol tcp|udp
                             with --host and --port for a CEF file)

common options:
  --config FILE              YAML configuration (also SIEM_CONFIG)
  --help                     show help of a command`

type Command = (args: string[]) => Promise<number>

const COMMANDS: Record<string, Command> = {
  serve: runServe,
  migrate: runMigrate,
  sql: runSql,
  search: runSearch,
  send: runSend,
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n')
    return name === undefined ? 2 : 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    process.stderr.write(`siem: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`)
    return 2
  }
  return command(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    if (isSiemError(err)) {
      process.stderr.write(`siem: ${err.message} [${err.code}]\n`)
      process.exitCode = err.code === 'SIEM_ERR_CLI_USAGE' ? 2 : 1
      return
    }
    process.stderr.write(`siem: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)

