import { createHash } from 'node:crypto'
import { SiemError } from '../errors.js'
import type { EpochMicros } from '../schema/timestamp.js'
import type { TimeRange } from './time-range.js'

/**
 * Where the next page starts: the sort key (time and id) of the last row
 * returned, the time range resolved on the first page (so `now-24h` does not
 * move while a client pages), and a fingerprint of the query the cursor
 * belongs to.
 */
export interface CursorState {
  /** Fingerprint of the query; see `queryFingerprint`. */
  query: string
  range: TimeRange
  /** Time of the last row returned, in epoch microseconds. */
  time: EpochMicros
  /** Id of the last row returned. */
  id: string
}

interface CursorJson {
  v: 1
  q: string
  s: number
  e: number
  t: number
  i: string
}

const MAX_CURSOR_LENGTH = 512
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * A short hash of everything that decides which rows a query returns and in
 * which order. A cursor is accepted only by a request with the same
 * fingerprint, so it cannot carry one query's position into another.
 */
export function queryFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16)
}

/** Encodes a cursor as opaque base64url text. */
export function encodeCursor(state: CursorState): string {
  const json: CursorJson = { v: 1, q: state.query, s: state.range.start, e: state.range.end, t: state.time, i: state.id }
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url')
}

function invalidCursor(detail: string): SiemError {
  return new SiemError('SIEM_ERR_QUERY_INVALID', `cursor is not valid (${detail}); send the next_cursor of the previous page unchanged`)
}

function isMicros(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** Decodes a cursor and checks that it belongs to the query with fingerprint `query`. */
export function decodeCursor(text: unknown, query: string): CursorState {
  if (typeof text !== 'string' || text === '' || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw invalidCursor('not base64url text of at most 512 characters')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor('not decodable')
  }
  const json = parsed as Partial<CursorJson> | null
  if (json === null || typeof json !== 'object' || json.v !== 1 || typeof json.q !== 'string' || typeof json.i !== 'string') {
    throw invalidCursor('unknown format')
  }
  if (!isMicros(json.s) || !isMicros(json.e) || !isMicros(json.t) || json.e <= json.s || !UUID.test(json.i)) {
    throw invalidCursor('bad position')
  }
  if (json.q !== query) {
    throw new SiemError(
      'SIEM_ERR_QUERY_INVALID',
      'cursor belongs to a different query; repeat the parameters of the first page (time_range, filters, text, sort, tenant) or drop the cursor',
    )
  }
  return { query: json.q, range: { start: json.s, end: json.e }, time: json.t, id: json.i }
}
