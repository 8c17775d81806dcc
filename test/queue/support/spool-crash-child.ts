// Runs a spool under load until it is killed, for the kill -9 test. It
// replays the spool in argv[2] (argv[3] names the round, argv[4] sets
// queue.max_events), then produces events with `durable` acks and
// consumes batches, printing one line per step on stdout:
//   acked <event id>,...        after an enqueue is acknowledged
//   taken <batch id> <event id>,...
//   committing <batch id>       before commit() is called
//   committed <batch id>        after commit() resolved
// Lines go to a pipe, which Node writes synchronously on Linux, so a printed
// line was written before the step after it started.
import { Registry } from 'prom-client'
import { createLogger } from '../../../src/logger.js'
import { SpoolQueue } from '../../../src/queue/spool/spool-queue.js'
import { eventIds, makeItems, spoolConfig } from './spool-helpers.js'

const [dir, round, maxEvents] = process.argv.slice(2)
if (dir === undefined || round === undefined || maxEvents === undefined) {
  throw new Error('usage: spool-crash-child <spool dir> <round> <queue.max_events>')
}

const queue = new SpoolQueue({
  config: spoolConfig(dir, { max_events: Number(maxEvents), spool: { segment_size: '64KiB', group_commit_delay: '1ms' } }),
  logger: createLogger({ level: 'warn' }, process.stderr),
  registry: new Registry(),
})

function print(line: string): void {
  process.stdout.write(`${line}\n`)
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function produce(producer: number): Promise<void> {
  for (let i = 0; ; i++) {
    const items = makeItems(`${round}-${producer}-${i}`, 50)
    await queue.enqueue(items, { ack: 'durable' })
    print(`acked ${eventIds(items).join(',')}`)
  }
}

async function consume(): Promise<void> {
  for (;;) {
    const batch = await queue.take(120, 5)
    if (batch === null) return
    print(`taken ${batch.id} ${eventIds(batch.items).join(',')}`)
    // Stands in for the insert into ClickHouse.
    await pause(Math.floor(Math.random() * 4))
    print(`committing ${batch.id}`)
    await queue.commit(batch.id)
    print(`committed ${batch.id}`)
  }
}

await queue.start()
print('ready')
await Promise.all([consume(), consume(), produce(0), produce(1), produce(2), produce(3)])
