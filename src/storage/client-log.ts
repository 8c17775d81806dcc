import type { ErrorLogParams, Logger as ClientLogger, LogParams, WarnLogParams } from '@clickhouse/client'
import type { Logger } from '../logger.js'

/**
 * Builds a logger class for @clickhouse/client that writes through pino at
 * debug level. The client's default logger prints every failed request to
 * the console; the writer and the health check already log each failure
 * they see, with batch and request ids, so the client's own lines are kept
 * for debugging only.
 */
export function clientLoggerClass(logger: Logger): new () => ClientLogger {
  const child = logger.child({ component: 'clickhouse-client' })
  const write = (level: string, params: LogParams & { err?: Error }): void => {
    child.debug({ client_level: level, module: params.module, args: params.args, err: params.err }, params.message)
  }
  return class PinoClientLogger implements ClientLogger {
    trace(params: LogParams): void {
      write('trace', params)
    }

    debug(params: LogParams): void {
      write('debug', params)
    }

    info(params: LogParams): void {
      write('info', params)
    }

    warn(params: WarnLogParams): void {
      write('warn', params)
    }

    error(params: ErrorLogParams): void {
      write('error', params)
    }
  }
}
