import { cpuSeconds, machineBusySeconds, peakRssBytes, resetPeakRss, rssBytes } from './proc-stats.js'
import { round } from './stats.js'

export interface RssSample {
  /** Seconds since the meter started. */
  t: number
  bytes: number
}

export interface ResourceUse {
  elapsed_s: number
  server_cpu_seconds: number
  /** Server CPU seconds per elapsed second: 1 is one core busy all the time. */
  server_cores: number
  server_peak_rss_bytes: number
  /** Whether the peak is this stage's own (the kernel reset VmHWM) or the process's since start. */
  peak_rss_is_stage_peak: boolean
  /** CPU seconds of every process on the machine over the stage. */
  machine_busy_seconds: number
  /** CPU seconds of the benchmark's main process (its pollers) over the stage. */
  bench_cpu_seconds: number
  rss_samples: RssSample[]
}

/** Measures a server process over one stage: CPU time, RSS over time and peak RSS. */
export class ResourceMeter {
  readonly #pid: number
  readonly #startedAt = performance.now()
  readonly #cpuAtStart: number
  readonly #machineAtStart = machineBusySeconds()
  readonly #benchCpuAtStart = process.cpuUsage()
  readonly #peakReset: boolean
  readonly #samples: RssSample[] = []
  readonly #timer: NodeJS.Timeout

  constructor(pid: number, sampleIntervalMs = 1000) {
    this.#pid = pid
    this.#cpuAtStart = cpuSeconds(pid)
    this.#peakReset = resetPeakRss(pid)
    this.#sample()
    this.#timer = setInterval(() => this.#sample(), sampleIntervalMs)
    this.#timer.unref()
  }

  #sample(): void {
    try {
      this.#samples.push({ t: round((performance.now() - this.#startedAt) / 1000), bytes: rssBytes(this.#pid) })
    } catch {
      // The process has exited; the stage reports what was sampled before.
    }
  }

  /**
   * CPU seconds that processes outside the benchmark used over the stage:
   * the machine's busy time minus the server, the benchmark's main process
   * and `workerCpuSeconds` of its workers.
   */
  static otherCpuSeconds(use: ResourceUse, workerCpuSeconds: number): number {
    return round(Math.max(0, use.machine_busy_seconds - use.server_cpu_seconds - use.bench_cpu_seconds - workerCpuSeconds))
  }

  stop(): ResourceUse {
    clearInterval(this.#timer)
    this.#sample()
    const elapsed = (performance.now() - this.#startedAt) / 1000
    const cpu = cpuSeconds(this.#pid) - this.#cpuAtStart
    const bench = process.cpuUsage(this.#benchCpuAtStart)
    return {
      elapsed_s: round(elapsed),
      server_cpu_seconds: round(cpu),
      server_cores: round(cpu / elapsed),
      server_peak_rss_bytes: peakRssBytes(this.#pid),
      peak_rss_is_stage_peak: this.#peakReset,
      machine_busy_seconds: round(machineBusySeconds() - this.#machineAtStart),
      bench_cpu_seconds: round((bench.user + bench.system) / 1e6),
      rss_samples: this.#samples,
    }
  }
}
