/** ClickHouse type of every bound time: microseconds in UTC, like the time columns. */
export const TIME_TYPE = "DateTime64(6, 'UTC')"

/**
 * Collects the typed parameters of one statement. `bind` returns the
 * `{name:Type}` placeholder to put in the SQL text and keeps the value for
 * `query_params`, so a user value only ever reaches the server as a bound
 * parameter. The names are generated here, never taken from a request.
 */
export class QueryParams {
  readonly values: Record<string, unknown> = {}
  #next = 0

  bind(type: string, value: unknown): string {
    const name = `p${this.#next}`
    this.#next++
    this.values[name] = value
    return `{${name}:${type}}`
  }
}
