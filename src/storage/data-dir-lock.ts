import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { SiemError } from '../errors.js'

export interface DataDirLock {
  release(): void
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  return !isZombie(pid)
}

/**
 * Returns true for a process that has exited but is not reaped yet, which
 * signal 0 still reaches. Right after kill -9 the old server is in that
 * state until its parent waits for it. Only Linux has /proc/<pid>/stat, so
 * elsewhere this returns false.
 */
function isZombie(pid: number): boolean {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return false
  }
  // The state letter follows the command name, which is in parentheses and may contain spaces.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
}

/**
 * Takes `<dir>/siem.lock`, holding this process id, so a second process on
 * the same directory fails with an error that names it instead of corrupting
 * the embedded engine's files. A lock left by a process that no longer runs
 * (after kill -9) is taken over.
 */
export function acquireDataDirLock(dir: string): DataDirLock {
  const path = join(dir, 'siem.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      let released = false
      return {
        release() {
          if (released) return
          released = true
          rmSync(path, { force: true })
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10)
      if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
        throw new SiemError(
          'SIEM_ERR_STORAGE_LOCKED',
          `data directory ${dir} is in use by process ${owner}; stop it or set storage.data_dir to another directory`,
          { value: dir, details: { pid: owner } },
        )
      }
      rmSync(path, { force: true })
    }
  }
  throw new SiemError('SIEM_ERR_STORAGE_LOCKED', `cannot take the lock file ${path}`, { value: path })
}
