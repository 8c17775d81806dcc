import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { eventIds, makeTempDir, openSpool, spoolConfig } from './support/spool-helpers.js'

const CHILD = fileURLToPath(new URL('./support/spool-crash-child.js', import.meta.url))
const ROUNDS = Number(process.env['SPOOL_CRASH_ROUNDS'] ?? 3)

interface History {
  acked: Set<string>
  /** Event ids of every batch handed out, by batch id. */
  batches: Map<string, string[]>
  /** Batches whose commit was called (stored in ClickHouse, for a real writer). */
  committing: Set<string>
  /** Order in which batch ids were handed out, with the round. */
  handedOut: { id: string; round: number }[]
}

function recordBatch(history: History, id: string, events: string[], round: number): void {
  const earlier = history.batches.get(id)
  if (earlier !== undefined) assert.deepEqual(events, earlier, `batch ${id} came back with other events`)
  history.batches.set(id, events)
  history.handedOut.push({ id, round })
}

function readLine(history: History, line: string, round: number): void {
  const [kind, first, second] = line.split(' ')
  if (kind === 'acked') for (const id of first!.split(',')) history.acked.add(id)
  else if (kind === 'taken') recordBatch(history, first!, second!.split(','), round)
  else if (kind === 'committing') history.committing.add(first!)
}

/** Runs the child until it has acknowledged `ackLines` enqueues, then kills it with SIGKILL. */
async function runAndKill(dir: string, round: number, maxEvents: number, ackLines: number, history: History): Promise<void> {
  const args = [CHILD, dir, String(round), String(maxEvents)]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let rest = ''
  let acks = 0
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n')
    // A line cut off by the kill has no newline and is dropped.
    rest = lines.pop()!
    for (const line of lines) {
      readLine(history, line, round)
      if (line.startsWith('acked ') && ++acks === ackLines) child.kill('SIGKILL')
    }
  })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]))
  })
  assert.equal(signal, 'SIGKILL', `child exited with code ${code} before it was killed`)
}

for (const [name, maxEvents] of [['in memory', 200_000], ['with a disk-only backlog', 300]] as const) {
  test(`acknowledged events survive kill -9 exactly once (${name})`, async () => {
    const temp = await makeTempDir()
    const history: History = { acked: new Set(), batches: new Map(), committing: new Set(), handedOut: [] }
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await runAndKill(temp.dir, round, maxEvents, 20 + Math.floor(Math.random() * 60), history)
      }

      const config = spoolConfig(temp.dir, { max_events: maxEvents, spool: { segment_size: '64KiB' } })
      const { queue, registry } = await openSpool(config)
      try {
        assert.ok((await registry.getSingleMetric('siem_spool_replayed_batches_total')?.get()) !== undefined)
        queue.drain()
        while (queue.stats().depthEvents > 0) {
          const batch = await queue.take(500, 0)
          assert.ok(batch !== null)
          recordBatch(history, batch.id, eventIds(batch.items), ROUNDS)
          await queue.commit(batch.id)
          history.committing.add(batch.id)
        }
      } finally {
        await queue.close()
      }

      // No event is in two batches: each batch handed out may have been stored.
      const batchOf = new Map<string, string>()
      for (const [batchId, events] of history.batches) {
        for (const eventId of events) {
          const other = batchOf.get(eventId)
          assert.ok(other === undefined, `event ${eventId} is in batches ${other} and ${batchId}`)
          batchOf.set(eventId, batchId)
        }
      }
      // Every acknowledged event is in a batch that was committed.
      for (const eventId of history.acked) {
        const batchId = batchOf.get(eventId)
        assert.ok(batchId !== undefined, `acknowledged event ${eventId} is in no batch`)
        assert.ok(history.committing.has(batchId), `acknowledged event ${eventId} is only in batch ${batchId}, never committed`)
      }
      // A batch handed out and not committed before a kill is handed out again after it.
      for (const { id, round } of history.handedOut) {
        if (round === ROUNDS || history.committing.has(id)) continue
        assert.fail(`batch ${id} handed out in round ${round} was never handed out again`)
      }
      const replays = history.handedOut.length - history.batches.size
      assert.ok(history.acked.size >= ROUNDS * 20 * 50, `${history.acked.size} events acknowledged`)
      process.stdout.write(
        `# kill -9 ${name}: rounds ${ROUNDS}, events acknowledged ${history.acked.size}, batches ${history.batches.size}, handed out again after a kill ${replays}\n`,
      )
    } finally {
      await temp.remove()
    }
  })
}
