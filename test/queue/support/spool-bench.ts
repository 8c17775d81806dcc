// Measures the cost of the disk spool against the memory queue:
// `node dist/test/queue/support/spool-bench.js [seconds] [events per second]`.
// Two runs per queue: "max" has 8 producers enqueue 500-event batches back
// to back; "paced" offers the given rate (default 50000) as one 500-event
// enqueue at a time and reports ack latency and CPU time. Two consumers take
// batches of 1000 and commit them at once, standing in for the writer.
import { Registry } from 'prom-client'
import { MemoryQueue } from '../../../src/queue/memory-queue.js'
import { SpoolQueue } from '../../../src/queue/spool/spool-queue.js'
import type { AckMode, EventQueue } from '../../../src/queue/types.js'
import { FaultyFileSystem, makeItems, makeTempDir, silentLogger, spoolConfig } from './spool-helpers.js'

const seconds = Number(process.argv[2] ?? 5)
const pacedRate = Number(process.argv[3] ?? 50_000)
const BATCH = 500
const PRODUCERS = 8

interface Result {
  events: number
  latenciesMs: number[]
  cpuMs: number
}

function startConsumers(queue: EventQueue): () => Promise<void> {
  let consuming = true
  const consume = async (): Promise<void> => {
    while (consuming) {
      const batch = await queue.take(1000, 20, AbortSignal.timeout(200))
      if (batch !== null) await queue.commit(batch.id)
    }
  }
  const consumers = [consume(), consume()]
  return async () => {
    consuming = false
    await Promise.all(consumers)
  }
}

async function timedEnqueue(queue: EventQueue, prefix: string, ack: AckMode, result: Result): Promise<void> {
  const started = performance.now()
  await queue.enqueue(makeItems(prefix, BATCH), { ack })
  result.latenciesMs.push(performance.now() - started)
  result.events += BATCH
}

async function runMax(queue: EventQueue, ack: AckMode): Promise<Result> {
  const result: Result = { events: 0, latenciesMs: [], cpuMs: 0 }
  const stop = startConsumers(queue)
  const cpu = process.cpuUsage()
  const deadline = Date.now() + seconds * 1000
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      for (let i = 0; Date.now() < deadline; i++) {
        await timedEnqueue(queue, `${p}-${i}`, ack, result)
        // Requests arrive through I/O; a memory ack resolving at once must not starve timers and I/O.
        await new Promise((resolve) => setImmediate(resolve))
      }
    }),
  )
  const used = process.cpuUsage(cpu)
  result.cpuMs = (used.user + used.system) / 1000
  await stop()
  return result
}

async function runPaced(queue: EventQueue, ack: AckMode): Promise<Result> {
  const result: Result = { events: 0, latenciesMs: [], cpuMs: 0 }
  const stop = startConsumers(queue)
  const cpu = process.cpuUsage()
  const requests = Math.round((pacedRate / BATCH) * seconds)
  const intervalMs = (seconds * 1000) / requests
  const started = performance.now()
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < requests; i++) {
    const wait = started + i * intervalMs - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(timedEnqueue(queue, `paced-${i}`, ack, result))
  }
  await Promise.all(inFlight)
  const used = process.cpuUsage(cpu)
  result.cpuMs = (used.user + used.system) / 1000
  await stop()
  return result
}

async function withSpool(ack: AckMode, run: typeof runMax): Promise<Result & { fsyncs: number }> {
  const temp = await makeTempDir()
  const files = new FaultyFileSystem()
  const config = spoolConfig(temp.dir, { overflow_policy: 'block', block_timeout: '1m' })
  const queue = new SpoolQueue({ config, logger: silentLogger(), registry: new Registry(), files })
  await queue.start()
  try {
    return { ...(await run(queue, ack)), fsyncs: files.datasyncs }
  } finally {
    await queue.close()
    await temp.remove()
  }
}

async function withMemory(run: typeof runMax): Promise<Result & { fsyncs: number }> {
  const config = spoolConfig('/nonexistent', { overflow_policy: 'block', block_timeout: '1m' })
  const queue = new MemoryQueue({ config, logger: silentLogger() })
  await queue.start()
  try {
    return { ...(await run(queue, 'memory')), fsyncs: 0 }
  } finally {
    await queue.close()
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

function report(name: string, result: Result & { fsyncs: number }): void {
  const rate = Math.round(result.events / seconds)
  const cpu = Math.round((result.cpuMs / (seconds * 1000)) * 100)
  process.stdout.write(
    [
      name.padEnd(30),
      `${String(rate).padStart(7)} events/s`,
      `ack p50 ${percentile(result.latenciesMs, 50).toFixed(2)} ms`,
      `p99 ${percentile(result.latenciesMs, 99).toFixed(2)} ms`,
      `cpu ${cpu}%`,
      `${Math.round(result.fsyncs / seconds)} fsyncs/s`,
    ].join('  ') + '\n',
  )
}

makeItems('warm', BATCH)
// Queues unref() their timers; this keeps the process alive while producers wait on them.
const keepAlive = setInterval(() => undefined, 1000)
// Paced first: the max runs leave gigabytes of dirty pages that slow later fsyncs.
for (const [mode, run] of [['paced', runPaced], ['max', runMax]] as const) {
  report(`${mode}: memory queue`, await withMemory(run))
  report(`${mode}: spool, memory ack`, await withSpool('memory', run))
  report(`${mode}: spool, durable ack`, await withSpool('durable', run))
}
clearInterval(keepAlive)
