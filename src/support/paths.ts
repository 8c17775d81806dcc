import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the boundary-siem package root above ' + import.meta.url)
    dir = parent
  }
  return dir
}

/** Root of the installed package: the folder holding package.json, migrations and configs. */
export const packageRoot = findPackageRoot()

export const migrationsDir = join(packageRoot, 'migrations')
