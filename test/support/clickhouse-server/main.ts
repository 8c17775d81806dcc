/**
 * Child-process entry of the test ClickHouse server: serves ClickHouse's
 * HTTP interface on 127.0.0.1 on top of the chdb engine, for tests that
 * need a server they can kill, pause and restart.
 *
 * Prints one JSON line `{"listening": <port>}` on stdout once it accepts
 * connections. Exits when its stdin closes, so a test process that dies
 * does not leave the server behind, and on SIGTERM or SIGINT after
 * running requests end.
 */
import { pino } from 'pino'
import { Engine } from './engine.js'
import { startHttpServer } from './http-server.js'
import { readServerOptions } from './options.js'

async function main(): Promise<void> {
  const options = readServerOptions(process.argv.slice(2), process.env)
  const logger = pino({ level: options.logLevel, base: { service: 'clickhouse-test-server' } }, pino.destination(2))
  const engine = await Engine.open(options.dataDir, logger)
  const server = await startHttpServer(options, engine, logger)
  let stopping = false
  const stop = (reason: string) => {
    if (stopping) return
    stopping = true
    logger.info({ reason }, 'test ClickHouse server stopping')
    void server.close().then(() => {
      engine.close()
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.stdin.on('end', () => stop('stdin closed'))
  process.stdin.on('error', () => stop('stdin failed'))
  process.stdin.resume()
  logger.info({ port: server.port, data_dir: options.dataDir }, 'test ClickHouse server listening')
  process.stdout.write(`${JSON.stringify({ listening: server.port })}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`test ClickHouse server failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
