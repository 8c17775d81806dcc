import { createLogger } from '../logger.js'
import { openStorage } from '../storage/client.js'
import { runMigrations } from '../storage/migrator.js'
import { applyRetention } from '../storage/retention.js'
import { CONFIG_OPTIONS, configFromArgs, parseCommandArgs } from './args.js'

const HELP = `usage: siem migrate [--config FILE] [--data-dir DIR]

Applies pending migrations in order and the configured retention, then exits.
Stops with the file's name when an applied migration was changed.`

export async function runMigrate(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, CONFIG_OPTIONS)
  if (values.help === true) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const config = configFromArgs(values)
  const logger = createLogger(config.log, process.stderr)
  const storage = await openStorage(config.storage, logger)
  try {
    const report = await runMigrations(storage.client, logger)
    const retention = await applyRetention(storage.client, storage.database, config.retention, logger)
    process.stdout.write(JSON.stringify({ applied: report.applied, skipped: report.skipped, retention_changed: retention }) + '\n')
    return 0
  } finally {
    await storage.close()
  }
}
