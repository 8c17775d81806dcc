import { parseArgs, type ParseArgsConfig } from 'node:util'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/types.js'
import { SiemError } from '../errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies Options

/** Parses command arguments, turning parseArgs' errors into usage errors. */
export function parseCommandArgs<T extends Options>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true })
  } catch (err) {
    throw new SiemError('SIEM_ERR_CLI_USAGE', err instanceof Error ? err.message : String(err), { cause: err })
  }
}

/** Loads the configuration named by --config (or SIEM_CONFIG), with --data-dir over it. */
export function configFromArgs(values: { config?: string; 'data-dir'?: string }): Config {
  const overrides = values['data-dir'] === undefined ? undefined : { storage: { data_dir: values['data-dir'] } }
  return loadConfig({ ...(values.config === undefined ? {} : { file: values.config }), ...(overrides === undefined ? {} : { overrides }) })
}
