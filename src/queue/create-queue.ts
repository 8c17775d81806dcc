import { join, resolve } from 'node:path'
import type { Registry } from 'prom-client'
import type { Config } from '../config/types.js'
import type { Logger } from '../logger.js'
import { MemoryQueue } from './memory-queue.js'
import { SpoolQueue } from './spool/spool-queue.js'
import type { EventQueue } from './types.js'

/** Directory of the disk spool: `queue.spool.dir`, else `spool` under the data directory. */
export function spoolDirOf(config: Config): string {
  return config.queue.spool.dir === '' ? join(resolve(config.storage.data_dir), 'spool') : resolve(config.queue.spool.dir)
}

/** Creates the configured queue implementation. */
export function createQueue(config: Config, logger: Logger, registry: Registry): EventQueue {
  const queueLogger = logger.child({ component: 'queue', queue: config.queue.type })
  if (config.queue.type === 'memory') return new MemoryQueue({ config: config.queue, logger: queueLogger })
  const queueConfig = { ...config.queue, spool: { ...config.queue.spool, dir: spoolDirOf(config) } }
  const { dedup_window: windowMs, dedup_window_events: limit } = config.ingest
  return new SpoolQueue({ config: queueConfig, logger: queueLogger, registry, resendWindow: limit > 0 ? { windowMs, limit } : undefined })
}
