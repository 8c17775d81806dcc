import type { Config } from '../../config/types.js'
import type { Registry } from 'prom-client'
import type { Logger } from '../../logger.js'
import { PreparerMetrics } from '../../metrics/pipeline-metrics.js'
import type { EventValidator } from '../../schema/validate.js'
import { InlineBodyPreparer, type BodyPreparer } from './body-preparer.js'
import type { BodyLimits } from './prepare-body.js'
import { WorkerBodyPreparer } from './worker-preparer.js'

/**
 * Starts the body preparer that `ingest.prepare_workers` selects, and
 * registers its metrics; the inline one uses `validator`.
 */
export async function startBodyPreparer(config: Config, validator: EventValidator, logger: Logger, registry: Registry): Promise<BodyPreparer> {
  const limits: BodyLimits = { maxPayloadSize: config.ingest.max_payload_size, maxBatchSize: config.ingest.max_batch_size }
  const workers = config.ingest.prepare_workers
  const metrics = new PreparerMetrics(registry)
  if (workers === 0) return new InlineBodyPreparer(validator, limits)
  const onWorkerFailure = (): void => metrics.workerFailures.inc()
  const preparer = new WorkerBodyPreparer({ workers, validation: config.validation, limits, logger, onWorkerFailure })
  try {
    await preparer.start()
  } catch (err) {
    await preparer.close()
    throw err
  }
  metrics.readFrom(() => preparer.stats())
  logger.info({ workers }, 'preparation workers started')
  return preparer
}
