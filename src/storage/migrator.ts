import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { SiemError } from '../errors.js'
import type { Logger } from '../logger.js'
import { migrationsDir } from '../support/paths.js'
import { errorMessage } from './client.js'
import { splitSqlStatements } from './sql-split.js'

export interface Migration {
  version: number
  name: string
  checksum: string
  statements: string[]
}

export interface MigrationReport {
  applied: string[]
  skipped: string[]
}

const FILE_NAME = /^(\d+)_([A-Za-z0-9_]+)\.sql$/

/** Reads `NNN_name.sql` files from `dir`, ordered by version; other files are ignored. */
export function loadMigrations(dir: string = migrationsDir): Migration[] {
  const migrations: Migration[] = []
  for (const file of readdirSync(dir)) {
    const match = FILE_NAME.exec(file)
    if (match === null) continue
    const text = readFileSync(join(dir, file), 'utf8')
    migrations.push({
      version: Number(match[1]),
      name: file,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: splitSqlStatements(text),
    })
  }
  migrations.sort((a, b) => a.version - b.version)
  for (let i = 1; i < migrations.length; i++) {
    const previous = migrations[i - 1] as Migration
    const current = migrations[i] as Migration
    if (previous.version === current.version) {
      throw new SiemError(
        'SIEM_ERR_MIGRATION_FAILED',
        `migrations ${previous.name} and ${current.name} have the same version`,
        { value: current.name },
      )
    }
  }
  return migrations
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY version`

interface AppliedRow {
  version: number
  name: string
  checksum: string
}

/**
 * Applies pending migrations in version order, one statement a request, and
 * records each in `schema_migrations` with its checksum. An applied file whose
 * checksum changed stops with SIEM_ERR_MIGRATION_CHECKSUM naming it, because
 * the database no longer matches the file.
 */
export async function runMigrations(
  client: ClickHouseClient,
  logger: Logger,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrationReport> {
  await client.command({ query: CREATE_MIGRATIONS_TABLE })
  const result = await client.query({
    query: 'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    format: 'JSONEachRow',
  })
  const applied = new Map<number, AppliedRow>()
  for (const row of await result.json<AppliedRow>()) applied.set(Number(row.version), row)

  const report: MigrationReport = { applied: [], skipped: [] }
  for (const migration of migrations) {
    const done = applied.get(migration.version)
    if (done !== undefined) {
      if (done.checksum !== migration.checksum) {
        throw new SiemError(
          'SIEM_ERR_MIGRATION_CHECKSUM',
          `migration ${migration.name} was changed after it was applied (checksum ${done.checksum.slice(0, 12)} ` +
            `recorded, ${migration.checksum.slice(0, 12)} now); restore the file and add a new migration instead`,
          { value: migration.name },
        )
      }
      report.skipped.push(migration.name)
      continue
    }
    const started = Date.now()
    for (const [index, statement] of migration.statements.entries()) {
      try {
        await client.command({ query: statement })
      } catch (err) {
        throw new SiemError(
          'SIEM_ERR_MIGRATION_FAILED',
          `migration ${migration.name} failed at statement ${index + 1}: ${errorMessage(err)}`,
          { value: migration.name, cause: err },
        )
      }
    }
    await client.insert({
      table: 'schema_migrations',
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: 'JSONEachRow',
    })
    logger.info({ migration: migration.name, statements: migration.statements.length, duration_ms: Date.now() - started }, 'migration applied')
    report.applied.push(migration.name)
  }
  return report
}
