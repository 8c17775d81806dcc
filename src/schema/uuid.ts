import { randomBytes } from 'node:crypto'

const POOL_SIZE = 16 * 256
let pool = randomBytes(POOL_SIZE)
let poolOffset = POOL_SIZE

let lastMs = 0
let sequence = 0

function hex(bytes: Buffer): string {
  const h = bytes.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * Returns a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit
 * counter that keeps ids made in the same millisecond in order, then random
 * bits. Ids sort by creation time, which keeps them close in the table's sort key.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 16 > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE)
    poolOffset = 0
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + 16))
  poolOffset += 16

  if (now > lastMs) {
    lastMs = now
    sequence = bytes.readUInt16BE(6) & 0x7ff
  } else {
    sequence++
    if (sequence > 0xfff) {
      lastMs++
      sequence = 0
    }
  }
  bytes.writeUIntBE(lastMs, 0, 6)
  bytes[6] = 0x70 | (sequence >> 8)
  bytes[7] = sequence & 0xff
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f)
  return hex(bytes)
}
