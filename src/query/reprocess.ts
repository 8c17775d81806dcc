import type { ClickHouseClient } from '@clickhouse/client'
import { SiemError } from '../errors.js'
import type { CefNormalizer } from '../ingest/cef/normalizer.js'
import { describeFieldError } from '../ingest/prepare.js'
import type { Candidate, IngestContext, Ingestor } from '../ingest/types.js'
import type { SourceFormat } from '../schema/event.js'
import { formatClickHouseMicros, nowMicros, parseClickHouseTime } from '../schema/timestamp.js'
import type { EventValidator } from '../schema/validate.js'
import { QueryParams } from './query-params.js'
import { quarantineConditions, QUARANTINE_DEFAULT_START, type QuarantineFilter } from './quarantine-list.js'
import { selectQuarantine, writeVersions, type QuarantineEntry } from './quarantine-store.js'
import { booleanOption, choiceOption, integerOption, rejectUnknownKeys, stringOption, type RequestInput } from './request-input.js'
import type { QueryLimits } from './run-query.js'

/** Error codes of quarantine entries whose raw text lost part of the input. */
const LOSSY_ERROR_CODES = new Set(['invalid_utf8', 'malformed_encoding', 'cef_message_too_large', 'cef_frame_incomplete'])
import { parseTimeRangeSpec, resolveTimeRange } from './time-range.js'

export const DEFAULT_REPROCESS_LIMIT = 100
export const MAX_REPROCESS_LIMIT = 1000

export interface ReprocessRequest extends QuarantineFilter {
  tenant: string | undefined
  ids: string[] | undefined
  limit: number
  dryRun: boolean
}

export type EntryOutcome = 'reprocessed' | 'invalid' | 'deferred'

export interface EntryReport {
  quarantine_id: string
  outcome: EntryOutcome
  reprocess_attempts: number
  event_id?: string
  errors?: string[]
}

export interface ReprocessResult {
  tenant: string
  dry_run: boolean
  examined: number
  reprocessed: number
  still_invalid: number
  /** Entries whose events the queue did not take; they keep their state and can be reprocessed again. */
  deferred: number
  entries: EntryReport[]
}

const BODY_KEYS = ['tenant', 'ids', 'time_range', 'error_code', 'source_format', 'limit', 'dry_run'] as const
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Reads the body of POST /v1/quarantine/reprocess. */
export function parseReprocessBody(body: RequestInput): ReprocessRequest {
  rejectUnknownKeys(body, BODY_KEYS, 'the reprocess request')
  const rawIds = body['ids']
  let ids: string[] | undefined
  if (rawIds !== undefined && rawIds !== null) {
    if (!Array.isArray(rawIds) || rawIds.length === 0 || rawIds.length > MAX_REPROCESS_LIMIT || !rawIds.every((id) => typeof id === 'string' && UUID.test(id))) {
      throw new SiemError('SIEM_ERR_QUERY_INVALID', `ids must be an array of 1 to ${MAX_REPROCESS_LIMIT} quarantine_id UUIDs`, { value: rawIds })
    }
    ids = (rawIds as string[]).map((id) => id.toLowerCase())
  }
  return {
    tenant: stringOption(body['tenant'], 'tenant'),
    ids,
    range: parseTimeRangeSpec(body['time_range'], QUARANTINE_DEFAULT_START),
    errorCode: stringOption(body['error_code'], 'error_code'),
    sourceFormat: body['source_format'] === undefined ? undefined : choiceOption(body['source_format'], 'source_format', ['json', 'cef'], 'json'),
    status: 'pending',
    limit: integerOption(body['limit'], 'limit', ids?.length ?? DEFAULT_REPROCESS_LIMIT, 1, MAX_REPROCESS_LIMIT),
    dryRun: booleanOption(body['dry_run'], 'dry_run'),
  }
}

/** The logging a reprocess run needs: a request's child logger. */
export interface ReprocessLog {
  warn(fields: Record<string, unknown>, message: string): void
}

export interface ReprocessorOptions {
  client: ClickHouseClient
  limits: QueryLimits
  ingestor: Ingestor
  validator: EventValidator
  cefNormalizer: CefNormalizer
}

type ObjectCandidate = Extract<Candidate, { kind: 'object' }>

/** Result of re-validating one entry: a candidate to ingest, or the problems as `validation_errors` lines. */
type Check = { entry: QuarantineEntry; candidate: ObjectCandidate } | { entry: QuarantineEntry; errors: string[]; errorCode: string }

/**
 * Re-validates pending quarantine entries (for example after a
 * configuration or validator change), ingests the ones that are now valid,
 * and records each attempt as a new version of the entry. An entry that still
 * fails counts one attempt and takes the new errors and error_code; after
 * MAX_REPROCESS_ATTEMPTS (3) it is left alone.
 *
 * Runs are serialized within the process, so two concurrent requests do not
 * ingest one entry twice.
 * NOTE: if the process stops after the events are stored and before the new
 * versions are written, those entries are still pending and a later run
 * ingests them again; an event that carries its own event_id is then stored
 * twice under the same id.
 */
export class QuarantineReprocessor {
  readonly #options: ReprocessorOptions
  #tail: Promise<unknown> = Promise.resolve()

  constructor(options: ReprocessorOptions) {
    this.#options = options
  }

  reprocess(tenant: string, request: ReprocessRequest, requestId: string, log: ReprocessLog): Promise<ReprocessResult> {
    const run = this.#tail.then(() => this.#run(tenant, request, requestId, log))
    this.#tail = run.catch(() => undefined)
    return run
  }

  async #run(tenant: string, request: ReprocessRequest, requestId: string, log: ReprocessLog): Promise<ReprocessResult> {
    const { client, limits } = this.#options
    const range = resolveTimeRange(request.range)
    const params = new QueryParams()
    const conditions = quarantineConditions(tenant, request, range, params)
    if (request.ids !== undefined) conditions.push(`quarantine_id IN ${params.bind('Array(UUID)', request.ids)}`)
    const entries = await selectQuarantine(client, limits, conditions, params, 'ASC', request.limit)

    const checks = entries.map((entry) => this.#check(entry))
    const reports = new Map<string, EntryReport>()
    const versions: QuarantineEntry[] = []
    for (const check of checks) {
      if ('errors' in check) recordInvalid(check.entry, check.errors, check.errorCode, reports, versions)
    }
    const valid = checks.filter((check): check is Extract<Check, { candidate: unknown }> => 'candidate' in check)
    if (!request.dryRun) {
      for (const group of groupByContext(valid)) await this.#ingestGroup(group, requestId, reports, versions, log)
      await writeVersions(client, versions)
    } else {
      for (const check of valid) {
        reports.set(check.entry.quarantine_id, { quarantine_id: check.entry.quarantine_id, outcome: 'reprocessed', reprocess_attempts: check.entry.reprocess_attempts + 1 })
      }
    }

    const ordered = entries.map((entry) => reports.get(entry.quarantine_id) as EntryReport)
    const count = (outcome: EntryOutcome): number => ordered.filter((report) => report.outcome === outcome).length
    return {
      tenant,
      dry_run: request.dryRun,
      examined: entries.length,
      reprocessed: count('reprocessed'),
      still_invalid: count('invalid'),
      deferred: count('deferred'),
      entries: ordered,
    }
  }

  /** Rebuilds the candidate of an entry from its raw input and validates it with the current configuration. */
  #check(entry: QuarantineEntry): Check {
    // The stored text of these is not the input as received (cut short, or
    // decoded with replacement), so it must never become an event.
    if (LOSSY_ERROR_CODES.has(entry.error_code)) return { entry, errors: entry.validation_errors, errorCode: entry.error_code }
    const candidate = this.#candidateOf(entry)
    // Input that was not one JSON event stays so under any configuration, so it keeps its original errors.
    if (candidate === undefined) return { entry, errors: entry.validation_errors, errorCode: entry.error_code }
    if (candidate.kind === 'unparsable') return { entry, errors: candidate.errors.map(describeFieldError), errorCode: candidate.errorCode }
    const result = this.#options.validator.validate({
      value: candidate.value,
      rawText: candidate.rawText ?? entry.raw_event,
      tenantId: entry.tenant_id,
      receivedAt: nowMicros(),
    })
    if (!result.ok) return { entry, errors: result.errors.map(describeFieldError), errorCode: result.errors[0]?.code ?? 'invalid_event' }
    return { entry, candidate }
  }

  /** Rebuilds the candidate of an entry; undefined for JSON input that is still not one event object. */
  #candidateOf(entry: QuarantineEntry): Candidate | undefined {
    if (entry.source_format === 'cef') {
      // The original receive time resolves yearless syslog times as the listener did.
      const receivedAt = Math.floor((parseClickHouseTime(entry.quarantined_at) ?? nowMicros()) / 1000)
      return this.#options.cefNormalizer.normalize(entry.raw_event, { receivedAt, peerAddress: entry.source_ip === '' ? undefined : entry.source_ip })
    }
    try {
      const value: unknown = JSON.parse(entry.raw_event)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { kind: 'object', value, rawText: entry.raw_event }
    } catch {
      // Reported below: the stored input is still not one JSON event.
    }
    return undefined
  }

  /** Ingests one group of now-valid entries and records what became of each. */
  async #ingestGroup(
    group: ValidGroup,
    requestId: string,
    reports: Map<string, EntryReport>,
    versions: QuarantineEntry[],
    log: ReprocessLog,
  ): Promise<void> {
    let result
    try {
      result = await this.#options.ingestor.ingest(
        group.checks.map((check) => check.candidate),
        group.context(requestId),
      )
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      log.warn(
        { err, tenant_id: group.checks[0]?.entry.tenant_id, entries: group.checks.length, request_id: requestId },
        'reprocessed events not enqueued; the entries stay pending',
      )
      for (const check of group.checks) {
        reports.set(check.entry.quarantine_id, { quarantine_id: check.entry.quarantine_id, outcome: 'deferred', reprocess_attempts: check.entry.reprocess_attempts, errors: [message] })
      }
      return
    }
    const failed = new Set(result.errors.map((error) => error.index))
    const ids = [...result.eventIds]
    const reprocessedAt = formatClickHouseMicros(nowMicros())
    for (const [index, check] of group.checks.entries()) {
      const entry = check.entry
      const attempts = entry.reprocess_attempts + 1
      if (failed.has(index)) {
        // Valid a moment ago, invalid in the pipeline (the time window moved): the pipeline quarantined it again.
        const errors = result.errors.filter((error) => error.index === index)
        recordInvalid(entry, errors.map(describeFieldError), errors[0]?.code ?? entry.error_code, reports, versions)
        continue
      }
      const eventId = ids.shift() as string
      reports.set(entry.quarantine_id, { quarantine_id: entry.quarantine_id, outcome: 'reprocessed', reprocess_attempts: attempts, event_id: eventId })
      versions.push({
        ...entry,
        reprocess_attempts: attempts,
        reprocessed: true,
        reprocessed_at: reprocessedAt,
        reprocessed_event_id: eventId,
        state_version: entry.state_version + 1,
      })
    }
  }
}

/** Records an entry that is still invalid: one more attempt, with the errors of this attempt. */
function recordInvalid(entry: QuarantineEntry, errors: string[], errorCode: string, reports: Map<string, EntryReport>, versions: QuarantineEntry[]): void {
  const attempts = entry.reprocess_attempts + 1
  reports.set(entry.quarantine_id, { quarantine_id: entry.quarantine_id, outcome: 'invalid', reprocess_attempts: attempts, errors })
  versions.push({ ...entry, reprocess_attempts: attempts, validation_errors: errors, error_code: errorCode, state_version: entry.state_version + 1 })
}

interface ValidGroup {
  checks: Array<{ entry: QuarantineEntry; candidate: ObjectCandidate }>
  context(requestId: string): IngestContext
}

/** Groups entries by tenant, format and sender, the fields one ingest call shares. */
function groupByContext(checks: Array<{ entry: QuarantineEntry; candidate: ObjectCandidate }>): ValidGroup[] {
  const groups = new Map<string, ValidGroup>()
  for (const check of checks) {
    const { tenant_id: tenantId, source_format: format, source_ip: sourceIp } = check.entry
    const key = JSON.stringify([tenantId, format, sourceIp])
    let group = groups.get(key)
    if (group === undefined) {
      group = {
        checks: [],
        context: (requestId) => ({
          tenantId,
          sourceIp,
          sourceFormat: (format === 'cef' ? 'cef' : 'json') as SourceFormat,
          requestId,
          // Committed: the entry is marked reprocessed only once its event is stored.
          ack: 'committed',
          listener: 'reprocess',
        }),
      }
      groups.set(key, group)
    }
    group.checks.push(check)
  }
  return [...groups.values()]
}
