import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

/**
 * CPU time and memory of another process from Linux's /proc. CPU time
 * counts every thread, so it includes the embedded engine's threads, which
 * process.cpuUsage() inside the process would count too but a JavaScript
 * profile would not show.
 */

let ticksPerSecond: number | undefined

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** User plus system CPU seconds the process has used since it started. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name in field 2 may contain spaces, so count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const userTicks = Number(fields[11])
  const systemTicks = Number(fields[12])
  return (userTicks + systemTicks) / clockTicks()
}

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)
  return match === null ? Number.NaN : Number(match[1]) * 1024
}

/** Resident set size now, in bytes. */
export function rssBytes(pid: number): number {
  return statusField(pid, 'VmRSS')
}

/** Peak resident set size (VmHWM) since start or the last resetPeakRss, in bytes. */
export function peakRssBytes(pid: number): number {
  return statusField(pid, 'VmHWM')
}

/**
 * Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux 4.0 and
 * later), so that each stage reports its own peak. Returns false where the
 * kernel refuses it; the peak then covers the process's whole life.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/**
 * CPU seconds that all processes on the machine used since boot (every
 * non-idle jiffy in /proc/stat). Subtracting the benchmark's own processes
 * from a difference of two readings gives what other work used meanwhile.
 */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string
  const fields = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return (total - idle) / clockTicks()
}
