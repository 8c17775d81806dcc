import { pino, type Logger } from 'pino'
import type { LogConfig } from './config/types.js'

export type { Logger }

/** Creates the root logger: JSON lines on stdout, with secrets redacted. */
export function createLogger(config: LogConfig, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level: config.level,
      base: { service: 'boundary-siem' },
      redact: { paths: ['req.headers["x-api-key"]', 'password', '*.password'], censor: '[redacted]' },
    },
    destination ?? process.stdout,
  )
}
