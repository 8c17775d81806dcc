import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, release, tmpdir, totalmem, type } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../src/config/load.js'
import { RunContext, type RunningServer } from './context.js'
import { parseOptions, STAGES, USAGE, type BenchOptions, type StageName } from './options.js'
import { recordRun } from './report/markdown.js'
import { newestProfile, summarizeProfile } from './report/profile.js'
import type { BenchResults, MachineInfo, StageOutcome } from './report/results.js'
import { checkTargets } from './report/targets.js'
import { runCef } from './stages/cef.js'
import { addSecondCeilingSample, runCeiling } from './stages/ceiling.js'
import { runEndToEnd } from './stages/end-to-end.js'
import { runFixedRate, type FixedRateResult } from './stages/fixed-rate.js'
import { runQueries } from './stages/queries.js'
import { runSoak } from './stages/soak.js'
import { measureStorage } from './stages/storage.js'
import { cleanUpNow, installCleanupHandlers, trackDirectory } from './support/cleanup.js'
import { DRAIN_CAP_MS, waitForEmptyQueue } from './support/drain.js'
import { runSql } from './support/http.js'

/**
 * `npm run bench`: runs every stage in order (ceiling, end to end, fixed
 * rates, soak, CEF, queries, storage), each server and load generator in a
 * process of its own, then writes bench/results/<date>.json,
 * bench/results/latest.json and a BENCHMARKS.md section. Exits 0 when every
 * selected stage ran or was skipped for a stated reason, whatever the
 * speed; 1 when a stage failed.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

function packageVersion(name: string): string {
  try {
    const require = createRequire(join(REPO_ROOT, 'package.json'))
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function machineInfo(): MachineInfo {
  const cores = cpus()
  return {
    cores: cores.length,
    cpu_model: cores[0]?.model.trim() ?? 'unknown',
    memory_bytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    engine_version: 'unknown',
    chdb_version: packageVersion('chdb'),
    clickhouse_client_version: packageVersion('@clickhouse/client'),
  }
}

/** `quick` or `full` when the run used every stage with its default soak, else `custom`. */
function modeOf(options: BenchOptions): BenchResults['mode'] {
  const defaultSoak = options.quick ? 0 : 600
  if (options.stages.size < STAGES.length || options.soakSeconds !== defaultSoak) return 'custom'
  return options.quick ? 'quick' : 'full'
}

function verdictOf(check: BenchResults['targets'][number]): string {
  if (check.met === null) return 'not measured'
  return check.met ? 'met' : `MISSED, ${check.miss}`
}

function skipped<T>(reason: string): StageOutcome<T> {
  return { status: 'skipped', reason }
}

class BenchRun {
  readonly #context: RunContext
  readonly #options: BenchOptions
  readonly results: BenchResults
  #failed = false

  constructor(context: RunContext, options: BenchOptions) {
    this.#context = context
    this.#options = options
    const config = loadConfig({ env: {} })
    const notSelected = 'not selected with --stages'
    this.results = {
      date: new Date().toISOString(),
      mode: modeOf(options),
      command: options.command,
      duration_s: 0,
      machine: machineInfo(),
      server: {
        ack_mode: config.ingest.ack_mode,
        queue_type: config.queue.type,
        writer_batch_size: config.writer.batch_size,
        writer_flush_interval_ms: config.writer.flush_interval,
        writer_concurrency: config.writer.concurrency,
        insert_format: 'JSONEachRow',
      },
      other_load_cores: 0,
      note: options.note,
      stages: {
        ceiling: skipped(notSelected),
        end_to_end: skipped(notSelected),
        fixed_rates: skipped(notSelected),
        soak: skipped(notSelected),
        cef: skipped(notSelected),
        queries: skipped(notSelected),
        storage: skipped(notSelected),
      },
      targets: [],
      profiles: [],
    }
  }

  get failed(): boolean {
    return this.#failed
  }

  #selected(...names: StageName[]): boolean {
    return names.some((name) => this.#options.stages.has(name))
  }

  /** Runs one stage; an error is recorded with the stage and the run goes on. */
  async #stage<T>(name: string, body: () => Promise<T>): Promise<StageOutcome<T>> {
    try {
      return { status: 'ok', figures: await body() }
    } catch (err) {
      this.#failed = true
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
      this.#context.progress(`${name} failed: ${message}`)
      return { status: 'error', error: message }
    }
  }

  async run(): Promise<void> {
    const stages = this.results.stages
    if (this.#selected('ceiling')) stages.ceiling = await this.#stage('ceiling', () => runCeiling(this.#context))
    if (this.#selected('end-to-end', 'storage')) await this.#withServer('end-to-end', 'end_to_end', (server) => this.#endToEnd(server))
    const first = stages.ceiling
    if (first.status === 'ok' && this.#selected('end-to-end')) {
      const both = await this.#stage('ceiling, second sample', () => addSecondCeilingSample(this.#context, first.figures))
      if (both.status === 'ok') stages.ceiling = both
    }
    if (this.#selected('fixed-rate', 'cef')) await this.#withServer('steady', 'fixed_rates', (server) => this.#steady(server))
    if (this.#selected('soak')) {
      if (this.#options.soakSeconds > 0) {
        await this.#withServer('soak', 'soak', async (server) => {
          stages.soak = await this.#stage('soak', () => runSoak(this.#context, server))
        })
      } else {
        stages.soak = skipped(this.#options.quick ? 'off with --quick (use --soak SECONDS)' : 'off with --soak 0')
      }
    }
    if (this.#selected('queries')) stages.queries = await this.#stage('queries', () => runQueries(this.#context))
  }

  /**
   * Starts a fresh server, runs `body` on it and stops it. When the server
   * does not start, the error is recorded on `stage`.
   */
  async #withServer(name: string, stage: keyof BenchResults['stages'], body: (server: RunningServer) => Promise<void>): Promise<void> {
    let server: RunningServer
    try {
      server = await this.#context.startServer(name, this.#profileOptions(name))
    } catch (err) {
      this.results.stages[stage] = { status: 'error', error: err instanceof Error ? err.message : String(err) }
      this.#failed = true
      this.#context.progress(`server ${name} did not start: ${String(err)}`)
      return
    }
    try {
      await this.#readEngineVersion(server)
      await body(server)
    } finally {
      await this.#stop(server, name)
    }
  }

  /** The maximum-rate run, then the storage figures of what it stored. */
  async #endToEnd(server: RunningServer): Promise<void> {
    const stages = this.results.stages
    stages.end_to_end = await this.#stage('end to end', () => runEndToEnd(this.#context, server))
    const endToEnd = stages.end_to_end
    if (!this.#selected('storage')) return
    stages.storage =
      endToEnd.status === 'ok'
        ? await this.#stage('storage', () => measureStorage(this.#context, server, endToEnd.figures.json_bytes))
        : skipped('the end-to-end run did not complete, so there is no received JSON to compare with')
  }

  /** The fixed rates and CEF on one server, each on an empty queue. */
  async #steady(server: RunningServer): Promise<void> {
    const stages = this.results.stages
    if (this.#selected('fixed-rate')) {
      stages.fixed_rates = await this.#stage('fixed rates', async () => {
        const rates: FixedRateResult[] = []
        for (const rate of this.#options.rates) {
          await this.#drain(server, `fixed rate ${rate}/s`)
          rates.push(await runFixedRate(this.#context, server, rate))
        }
        return rates
      })
    }
    if (this.#selected('cef')) {
      await this.#drain(server, 'CEF')
      const cef = await this.#stage('cef', () => runCef(this.#context, server))
      stages.cef = cef.status === 'ok' && cef.figures.status === 'skipped' ? skipped(cef.figures.reason) : cef
    }
  }

  /** With --profile, each server writes its profile to a directory of its own under the given one. */
  #profileOptions(name: string): { cpuProfileDir?: string } {
    if (this.#options.profileDir === undefined) return {}
    const directory = join(this.#options.profileDir, name)
    mkdirSync(directory, { recursive: true })
    return { cpuProfileDir: directory }
  }

  /** Stops a server, reports an unclean exit with its log, and summarizes its profile if it ran under one. */
  async #stop(server: RunningServer, name: string): Promise<void> {
    const code = await this.#context.stopServer(server)
    if (code !== 0) this.#context.progress(`server ${name} exited with ${code}:\n${server.process.logTail()}`)
    const directory = this.#profileOptions(name).cpuProfileDir
    if (directory === undefined) return
    const file = newestProfile(directory)
    if (file === undefined) this.#context.progress(`no .cpuprofile in ${directory}: the server ${name} did not exit cleanly`)
    else this.results.profiles.push({ server: name, summary: summarizeProfile(file) })
  }

  /** Waits for the queue to empty, so that the previous stage's backlog does not slow the next. */
  async #drain(server: RunningServer, next: string): Promise<void> {
    const waited = await waitForEmptyQueue(server)
    if (waited === undefined) this.#context.progress(`queue still not empty after ${DRAIN_CAP_MS / 1000} s; starting ${next} anyway`)
    else if (waited > 1) this.#context.progress(`waited ${waited.toFixed(1)} s for the queue to empty before ${next}`)
  }

  async #readEngineVersion(server: RunningServer): Promise<void> {
    if (this.results.machine.engine_version !== 'unknown') return
    const result = await runSql<{ version: string }>(server.http, 'SELECT version() AS version', this.#context.adminKey)
    this.results.machine.engine_version = result.rows[0]?.version ?? 'unknown'
  }

  /** Average cores that other processes used over the end-to-end, fixed-rate and soak stages. */
  computeOtherLoad(): void {
    let otherCpu = 0
    let elapsed = 0
    const endToEnd = this.results.stages.end_to_end
    if (endToEnd.status === 'ok') {
      otherCpu += endToEnd.figures.other_cpu_seconds
      elapsed += endToEnd.figures.resources.elapsed_s
    }
    const rates = this.results.stages.fixed_rates
    if (rates.status === 'ok') {
      for (const rate of rates.figures) {
        otherCpu += rate.other_cpu_seconds
        elapsed += rate.resources.elapsed_s
      }
    }
    const soak = this.results.stages.soak
    if (soak.status === 'ok') {
      otherCpu += soak.figures.other_cpu_seconds
      elapsed += soak.figures.elapsed_s
    }
    this.results.other_load_cores = elapsed === 0 ? 0 : Math.round((100 * otherCpu) / elapsed) / 100
  }
}

function writeResults(results: BenchResults): string {
  const directory = join(REPO_ROOT, 'bench', 'results')
  mkdirSync(directory, { recursive: true })
  const text = JSON.stringify(results, null, 2) + '\n'
  const file = join(directory, `${results.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`)
  writeFileSync(file, text)
  writeFileSync(join(directory, 'latest.json'), text)
  recordRun(join(REPO_ROOT, 'BENCHMARKS.md'), results)
  return file
}

function printSummary(results: BenchResults): void {
  const lines = ['', 'targets:']
  for (const check of results.targets) {
    lines.push(`  ${check.description}: ${check.actual} (target ${check.target}) ${verdictOf(check)}`)
  }
  for (const { server, summary } of results.profiles) {
    lines.push('', `profile of server ${server}, ${summary.file}:`)
    for (const entry of summary.top_self.slice(0, 10)) lines.push(`  ${entry.percent}% ${entry.name}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | 'help'
  try {
    options = parseOptions(argv)
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`)
    return 2
  }
  if (options === 'help') {
    process.stdout.write(USAGE + '\n')
    return 0
  }

  installCleanupHandlers()
  const workDir = mkdtempSync(join(tmpdir(), 'siem-bench-'))
  trackDirectory(workDir)
  const context = new RunContext(options, workDir)
  const run = new BenchRun(context, options)
  const started = performance.now()
  try {
    await run.run()
  } finally {
    const cleanupStarted = performance.now()
    cleanUpNow()
    context.progress(`temporary files removed in ${Math.round(performance.now() - cleanupStarted)} ms`)
  }

  const results = run.results
  results.duration_s = Math.round((performance.now() - started) / 1000)
  run.computeOtherLoad()
  results.targets = checkTargets(results)
  printSummary(results)

  if (options.record) {
    const file = writeResults(results)
    context.progress(`results written to ${file}, latest.json and BENCHMARKS.md`)
  }
  return run.failed ? 1 : 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    cleanUpNow()
    process.exitCode = 1
  },
)
