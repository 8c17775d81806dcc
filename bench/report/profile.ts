import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { round } from '../support/stats.js'

/** A V8 CPU profile as `node --cpu-prof` writes it. */
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
  /** Samples by source line (1-based); V8 may report a line of a function inlined into this one. */
  positionTicks?: Array<{ line: number; ticks: number }>
}

export interface ProfileEntry {
  /** `file:function` with the line (1-based), or the V8 pseudo-frame such as `(garbage collector)`. */
  name: string
  /** Share of the main thread's busy samples (idle excluded). */
  percent: number
  /**
   * For self-time entries: the line with the most samples and its share of them. When V8 has
   * inlined a callee, the line can be the callee's, in the callee's file.
   */
  hottest_line?: { line: number; percent: number }
}

export interface ProfileSummary {
  file: string
  duration_s: number
  /** Share of samples in which the main thread was not idle. */
  busy_percent: number
  /** Functions by their own samples. */
  top_self: ProfileEntry[]
  /** Functions of this project by samples in them or anything they call. */
  top_inclusive_project: ProfileEntry[]
  /** Samples grouped by package or project file. */
  by_module: ProfileEntry[]
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const IDLE = new Set(['(idle)', '(program)'])

function fileOf(url: string): string {
  if (url === '') return ''
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  return path.startsWith(REPO_ROOT) ? relative(REPO_ROOT, path) : path
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const file = fileOf(url)
  const name = functionName === '' ? '(anonymous)' : functionName
  return file === '' ? name : `${file}:${name}:${lineNumber + 1}`
}

/** Returns the package (node_modules/<name>), the project source file, or node's internals of a frame. */
function moduleOf(node: ProfileNode): string {
  const file = fileOf(node.callFrame.url)
  if (file === '') return node.callFrame.functionName || '(native)'
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)
  if (packageMatch !== null) return packageMatch[1] as string
  if (file.startsWith('node:')) return 'node internals'
  return file.replace(/\.js$/, '').replace(/^dist\//, '')
}

function isProjectFrame(node: ProfileNode): boolean {
  const file = fileOf(node.callFrame.url)
  return file.startsWith('dist/src/')
}

function topEntries(totals: Map<string, number>, busy: number, count: number): ProfileEntry[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, samples]) => ({ name, percent: round((100 * samples) / busy, 1) }))
}

/** Adds to each self-time entry the source line that most of its samples fell on. */
function withHottestLines(entries: ProfileEntry[], nodes: readonly ProfileNode[]): ProfileEntry[] {
  const lines = new Map<string, Map<number, number>>()
  for (const node of nodes) {
    if (node.positionTicks === undefined) continue
    const name = frameName(node)
    const byLine = lines.get(name) ?? new Map<number, number>()
    for (const tick of node.positionTicks) byLine.set(tick.line, (byLine.get(tick.line) ?? 0) + tick.ticks)
    lines.set(name, byLine)
  }
  return entries.map((entry) => {
    const byLine = lines.get(entry.name)
    if (byLine === undefined || byLine.size === 0) return entry
    const total = [...byLine.values()].reduce((sum, ticks) => sum + ticks, 0)
    const [line, ticks] = [...byLine.entries()].sort((a, b) => b[1] - a[1])[0] as [number, number]
    return { ...entry, hottest_line: { line, percent: round((100 * ticks) / total, 1) } }
  })
}

/** Summarizes a .cpuprofile: self time by function, inclusive time of project functions, time by module. */
export function summarizeProfile(file: string, count = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfSamples = new Map<number, number>()
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1)

  let busy = 0
  const self = new Map<string, number>()
  const modules = new Map<string, number>()
  for (const [id, samples] of selfSamples) {
    const node = byId.get(id) as ProfileNode
    if (IDLE.has(node.callFrame.functionName)) continue
    busy += samples
    const name = frameName(node)
    self.set(name, (self.get(name) ?? 0) + samples)
    const module = moduleOf(node)
    modules.set(module, (modules.get(module) ?? 0) + samples)
  }

  // Inclusive samples: walk the call tree, counting a function once per stack even when it recurses.
  const inclusive = new Map<string, number>()
  const root = profile.nodes[0] as ProfileNode
  const visit = (node: ProfileNode, onStack: Set<string>): number => {
    let total = IDLE.has(node.callFrame.functionName) ? 0 : (selfSamples.get(node.id) ?? 0)
    const name = frameName(node)
    const fresh = isProjectFrame(node) && !onStack.has(name)
    if (fresh) onStack.add(name)
    for (const childId of node.children ?? []) total += visit(byId.get(childId) as ProfileNode, onStack)
    if (fresh) {
      onStack.delete(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + total)
    }
    return total
  }
  visit(root, new Set())

  return {
    file,
    duration_s: round((profile.endTime - profile.startTime) / 1e6, 1),
    busy_percent: round((100 * busy) / Math.max(1, profile.samples.length), 1),
    top_self: withHottestLines(topEntries(self, busy, count), profile.nodes),
    top_inclusive_project: topEntries(inclusive, busy, count),
    by_module: topEntries(modules, busy, count),
  }
}

/** Returns the newest .cpuprofile in a directory, or undefined. */
export function newestProfile(directory: string): string | undefined {
  const files = readdirSync(directory).filter((name) => name.endsWith('.cpuprofile')).sort()
  const newest = files[files.length - 1]
  return newest === undefined ? undefined : join(directory, newest)
}
