/**
 * TCP framing of syslog messages, detected once per connection from its
 * first byte: a digit means RFC 6587 octet counting (`LEN SP MSG`), anything
 * else means one message a line. Works on bytes, because octet counts are in
 * bytes and a multi-byte character may be split across TCP segments.
 */

const LF = 0x0a
const CR = 0x0d
const SPACE = 0x20
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39

/** Digits an octet count may have; 10 digits already exceeds any sane message size. */
const MAX_COUNT_DIGITS = 10

export type Framing = 'newline' | 'octet-counting'

export interface FrameSink {
  /** A complete message without its line ending. */
  message(text: string, byteLength: number): void
  /** The first `maxMessageSize` bytes of a message that was larger; the rest is skipped. */
  oversized(truncated: string, byteLength: number | undefined): void
  /** An octet-counted frame cut off by the end of the connection. */
  incomplete(text: string, expectedBytes: number): void
}

export interface FramingError {
  code: 'invalid_octet_count' | 'octet_count_too_large'
  message: string
  /** The bytes where the count was expected, as text (at most 32 characters). */
  value: string
}

export class FrameDecoder {
  readonly #maxMessageSize: number
  readonly #sink: FrameSink
  #framing: Framing | undefined
  /** Bytes received and not yet part of a complete message. */
  #tail: Buffer | undefined
  /** Newline framing: skipping the rest of an oversized line. */
  #discarding = false
  #discardedBytes = 0
  /** Octet counting: bytes the current frame still needs, or -1 while reading a count. */
  #frameLength = -1
  #failed = false

  constructor(maxMessageSize: number, sink: FrameSink) {
    this.#maxMessageSize = maxMessageSize
    this.#sink = sink
  }

  get framing(): Framing | undefined {
    return this.#framing
  }

  /**
   * Feeds a chunk; emits every message it completes. Returns a framing
   * error after which the connection must be closed, since the position of
   * the next frame is unknown; the decoder ignores further input.
   */
  push(chunk: Buffer): FramingError | undefined {
    if (this.#failed) return undefined
    if (this.#framing === undefined) {
      const first = firstSignificantByte(chunk)
      if (first === -1) return undefined
      this.#framing = isDigit(chunk[first] as number) ? 'octet-counting' : 'newline'
    }
    if (this.#framing === 'newline') {
      this.#pushLines(chunk)
      return undefined
    }
    const error = this.#pushFrames(chunk)
    if (error !== undefined) {
      this.#failed = true
      this.#tail = undefined
    }
    return error
  }

  /** Emits what is left at the end of the connection: a last line without a newline, or a cut-off frame. */
  end(): void {
    const tail = this.#tail
    this.#tail = undefined
    if (this.#failed || tail === undefined || tail.length === 0) return
    if (this.#framing === 'newline') {
      if (!this.#discarding) this.#emitLine(tail, 0, tail.length)
      return
    }
    if (this.#frameLength >= 0) {
      this.#sink.incomplete(tail.toString('utf8'), this.#frameLength)
      return
    }
    const rest = trimLineEnds(tail)
    if (rest.length > 0) this.#sink.incomplete(rest, 0)
  }

  #pushLines(chunk: Buffer): void {
    let data = chunk
    if (this.#discarding) {
      const newline = data.indexOf(LF)
      if (newline === -1) {
        this.#discardedBytes += data.length
        return
      }
      this.#discarding = false
      data = data.subarray(newline + 1)
    }
    if (this.#tail !== undefined) data = Buffer.concat([this.#tail, data])
    let start = 0
    let newline = data.indexOf(LF, start)
    while (newline !== -1) {
      this.#emitLine(data, start, newline)
      start = newline + 1
      newline = data.indexOf(LF, start)
    }
    const rest = data.length - start
    if (rest > this.#maxMessageSize) {
      this.#sink.oversized(data.toString('utf8', start, start + this.#maxMessageSize), undefined)
      this.#discarding = true
      this.#discardedBytes = rest
      this.#tail = undefined
    } else {
      this.#tail = rest > 0 ? data.subarray(start) : undefined
    }
  }

  #emitLine(data: Buffer, start: number, end: number): void {
    let stop = end
    if (stop > start && data[stop - 1] === CR) stop--
    if (stop === start) return
    const length = stop - start
    if (length > this.#maxMessageSize) {
      this.#sink.oversized(data.toString('utf8', start, start + this.#maxMessageSize), length)
      return
    }
    this.#sink.message(data.toString('utf8', start, stop), length)
  }

  #pushFrames(chunk: Buffer): FramingError | undefined {
    const data = this.#tail === undefined ? chunk : Buffer.concat([this.#tail, chunk])
    let cursor = 0
    while (cursor < data.length) {
      if (this.#frameLength < 0) {
        while (cursor < data.length && (data[cursor] === LF || data[cursor] === CR)) cursor++
        const countStart = cursor
        while (cursor < data.length && isDigit(data[cursor] as number) && cursor - countStart <= MAX_COUNT_DIGITS) cursor++
        if (cursor === data.length && cursor - countStart <= MAX_COUNT_DIGITS) {
          this.#tail = countStart < data.length ? data.subarray(countStart) : undefined
          return undefined
        }
        const error = this.#checkCount(data, countStart, cursor)
        if (error !== undefined) return error
        this.#frameLength = Number(data.toString('latin1', countStart, cursor))
        cursor++
      }
      if (data.length - cursor < this.#frameLength) break
      const end = cursor + this.#frameLength
      let stop = end
      while (stop > cursor && (data[stop - 1] === LF || data[stop - 1] === CR)) stop--
      if (stop > cursor) this.#sink.message(data.toString('utf8', cursor, stop), stop - cursor)
      cursor = end
      this.#frameLength = -1
    }
    this.#tail = cursor < data.length ? data.subarray(cursor) : undefined
    return undefined
  }

  #checkCount(data: Buffer, start: number, end: number): FramingError | undefined {
    const value = data.toString('latin1', start, Math.min(data.length, start + 32))
    const digits = end - start
    if (digits === 0 || digits > MAX_COUNT_DIGITS || data[end] !== SPACE || data[start] === DIGIT_0) {
      return {
        code: 'invalid_octet_count',
        message: 'invalid octet count: expected a decimal length without leading zeros, then a space',
        value,
      }
    }
    const length = Number(data.toString('latin1', start, end))
    if (length > this.#maxMessageSize) {
      return {
        code: 'octet_count_too_large',
        message: `octet count ${length} is over the limit of ${this.#maxMessageSize} bytes (cef.max_message_size)`,
        value,
      }
    }
    return undefined
  }
}

function firstSignificantByte(chunk: Buffer): number {
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]
    if (byte !== LF && byte !== CR) return i
  }
  return -1
}

function trimLineEnds(data: Buffer): string {
  return data.toString('utf8').replace(/[\r\n]+/g, '')
}

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_9
}
