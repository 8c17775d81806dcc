import type { Registry } from 'prom-client'
import type { Config } from '../config/types.js'
import type { Logger } from '../logger.js'
import { MemoryQueue } from './memory-queue.js'
import type { EventQueue } from './types.js'

/** Creates the configured queue implementation. */
export async function createQueue(config: Config, logger: Logger, _registry: Registry): Promise<EventQueue> {
  const queueLogger = logger.child({ component: 'queue', queue: config.queue.type })
  // TODO: the disk spool is being written; until then `spool` falls back to memory.
  return new MemoryQueue({ config: config.queue, logger: queueLogger })
}
