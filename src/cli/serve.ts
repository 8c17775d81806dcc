import { SiemApp } from '../app.js'
import { CONFIG_OPTIONS, configFromArgs, parseCommandArgs } from './args.js'

const HELP = `usage: siem serve [--config FILE] [--data-dir DIR]

Starts the HTTP ingest API, the CEF listeners and the batch writer. SIGINT or
SIGTERM stops accepting, drains the queue into ClickHouse for up to
shutdown_wait, and exits 0 when nothing is left behind.`

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, CONFIG_OPTIONS)
  if (values.help === true) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const app = new SiemApp(configFromArgs(values))
  const stopped = new Promise<boolean>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      app.logger.info({ signal }, 'shutting down')
      resolve(app.close())
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  try {
    await app.start()
  } catch (err) {
    app.logger.fatal({ err }, 'start failed')
    await app.close()
    throw err
  }
  const flushed = await stopped
  return flushed ? 0 : 1
}
