/**
 * One request whose claimed event ids are not enqueued yet. Until `settle`,
 * a re-send of those ids must not be reported as stored.
 */
export class InFlightRequest {
  readonly tenantId: string
  /** Settles with true once the request's events are enqueued, false when the enqueue failed. */
  readonly done: Promise<boolean>
  #claimed: string[] = []
  #lookup: Set<string> | undefined
  #settle: (stored: boolean) => void = () => {}

  constructor(tenantId: string) {
    this.tenantId = tenantId
    this.done = new Promise<boolean>((resolve) => {
      this.#settle = resolve
    })
  }

  get claimed(): readonly string[] {
    return this.#claimed
  }

  add(id: string): void {
    this.#claimed.push(id)
    this.#lookup = undefined
  }

  /** Forgets every claim, for a request that releases them to wait for another one. */
  clear(): void {
    this.#claimed = []
    this.#lookup = undefined
  }

  holds(id: string): boolean {
    // Built only when a re-send meets a claimed id, which is rare, and dropped at the next change.
    this.#lookup ??= new Set(this.#claimed)
    return this.#lookup.has(id)
  }

  settle(stored: boolean): void {
    this.#settle(stored)
  }
}

/**
 * The requests of one pipeline that hold claims in the re-send window but
 * have not finished their enqueue. An id that fails its claim because such a
 * request holds it is not a duplicate yet: that request can still fail and
 * release it, so the re-send waits for its outcome.
 */
export class InFlightClaims {
  readonly #requests = new Set<InFlightRequest>()

  begin(tenantId: string): InFlightRequest {
    const request = new InFlightRequest(tenantId)
    this.#requests.add(request)
    return request
  }

  /** Returns the unfinished request, other than `self`, that has claimed `id` for the tenant. */
  holderOf(tenantId: string, id: string, self: InFlightRequest): InFlightRequest | undefined {
    for (const request of this.#requests) {
      if (request !== self && request.tenantId === tenantId && request.holds(id)) return request
    }
    return undefined
  }

  end(request: InFlightRequest, stored: boolean): void {
    this.#requests.delete(request)
    request.settle(stored)
  }
}
