/** Messages between the benchmark's main process and its forked workers. */

export interface IngestKey {
  tenant: string
  key: string
}

export interface LoadJob {
  url: string
  /** One ingest key per tenant; each request picks a tenant by the model's weights. */
  keys: IngestKey[]
  /** `max`: keep `concurrency` requests in flight; `rate`: send on a fixed schedule. */
  mode: 'max' | 'rate'
  /** Target events per second in `rate` mode. */
  eventsPerSecond: number
  durationMs: number
  /** Requests in flight at most. */
  concurrency: number
  batchSize: number
  /**
   * Every event of request `n` gets source.instance_id `${tagPrefix}${n}`, with `n` zero-padded to
   * TAG_DIGITS digits, so its rows can be found.
   */
  tagPrefix: string
  seed: number
  /** Distinct request bodies generated up front; each send reuses one with fresh event ids. */
  poolBatches: number
  /** Event ids kept (reservoir sample) to check afterwards that they were stored. */
  sampleSize: number
  /** Keep the wall-clock time of every acknowledgement, for visibility delays. */
  recordAcks: boolean
}

export interface LoadReport {
  /** Requests answered 200. */
  acceptedRequests: number
  acceptedEvents: number
  /** 429 and 503 answers (queue full or shutting down); the request was sent again. */
  refusedAnswers: number
  /** Requests that failed otherwise (other status, socket error); not sent again. */
  failedRequests: number
  failureSamples: string[]
  /** JSON bytes of the accepted request bodies. */
  acceptedBodyBytes: number
  /** Milliseconds from the intended send time to the 200 answer, one a request. */
  ackLatenciesMs: number[]
  /** Wall-clock time of the first send and the last answer, epoch milliseconds. */
  startedAtMs: number
  finishedAtMs: number
  /** [request number, epoch milliseconds of its 200 answer] when recordAcks is set. */
  acks: Array<[number, number]>
  sampleIds: string[]
  /** Rate mode: requests whose send started more than 10 ms after their slot. */
  lateSends: number
  /** CPU seconds the load generator itself used. */
  cpuSeconds: number
}

export type ParentMessage = { type: 'job'; job: LoadJob } | { type: 'go' }

export type LoadWorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; report: LoadReport }
  | { type: 'error'; message: string }
