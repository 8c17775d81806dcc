import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

/**
 * Child processes and temporary directories of this run, removed at the
 * end and also when the run fails or is interrupted.
 */
const children = new Set<ChildProcess>()
const directories = new Set<string>()

export function trackChild(child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
}

export function trackDirectory(path: string): void {
  directories.add(path)
}

/** Kills the children still running (SIGKILL) and removes the directories. */
export function cleanUpNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
  for (const path of directories) rmSync(path, { recursive: true, force: true })
  directories.clear()
}

let installed = false

/** Cleans up on exit, on SIGINT and SIGTERM, and on an uncaught error. */
export function installCleanupHandlers(): void {
  if (installed) return
  installed = true
  process.once('exit', cleanUpNow)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanUpNow()
      process.exit(130)
    })
  }
}
