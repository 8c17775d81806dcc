import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The few file operations the spool uses, so a test can count fsyncs or
 * inject ENOSPC and EIO. `write` writes the whole buffer at `position` or
 * rejects.
 */
export interface SpoolFile {
  read(buffer: Buffer, position: number): Promise<number>
  /** Writes the buffers one after the other from `position`, all of them. */
  write(buffers: readonly Buffer[], position: number): Promise<void>
  datasync(): Promise<void>
  truncate(length: number): Promise<void>
  size(): Promise<number>
  close(): Promise<void>
}

export interface SpoolFileSystem {
  mkdir(dir: string): Promise<void>
  list(dir: string): Promise<string[]>
  /** Opens an existing file for reading and writing. */
  openExisting(path: string): Promise<SpoolFile>
  /** Creates a file that must not exist yet. */
  create(path: string): Promise<SpoolFile>
  unlink(path: string): Promise<void>
  /** Makes created and deleted directory entries durable. */
  syncDirectory(dir: string): Promise<void>
}

/** Buffers a vectored write passes at most: Linux's IOV_MAX. */
const MAX_WRITE_BUFFERS = 1024

class NodeSpoolFile implements SpoolFile {
  constructor(private readonly handle: FileHandle) {}

  async read(buffer: Buffer, position: number): Promise<number> {
    let total = 0
    while (total < buffer.length) {
      const { bytesRead } = await this.handle.read(buffer, total, buffer.length - total, position + total)
      if (bytesRead === 0) break
      total += bytesRead
    }
    return total
  }

  async write(buffers: readonly Buffer[], position: number): Promise<void> {
    let pending = buffers.filter((buffer) => buffer.length > 0)
    let offset = position
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending.slice(0, MAX_WRITE_BUFFERS), offset)
      offset += bytesWritten
      // A short write leaves the rest of the buffers, the first of them perhaps in part.
      let written = bytesWritten
      let done = 0
      while (done < pending.length && written >= (pending[done] as Buffer).length) {
        written -= (pending[done] as Buffer).length
        done++
      }
      pending = pending.slice(done)
      if (written > 0) pending[0] = (pending[0] as Buffer).subarray(written)
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync()
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length)
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size
  }

  close(): Promise<void> {
    return this.handle.close()
  }
}

export const nodeSpoolFileSystem: SpoolFileSystem = {
  async mkdir(dir) {
    await mkdir(dir, { recursive: true })
  },
  list: (dir) => readdir(dir),
  openExisting: async (path) => new NodeSpoolFile(await open(path, 'r+')),
  create: async (path) => new NodeSpoolFile(await open(path, 'wx+')),
  unlink: (path) => unlink(path),
  async syncDirectory(dir) {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  },
}

/** Magic and format version at the start of every segment file. */
export const SEGMENT_HEADER = Buffer.from('SIEMSPL\u0001', 'latin1')

const SEGMENT_NAME = /^segment-(\d{16})\.log$/

/** A segment file is named by the sequence number its first event gets, zero-padded to sort. */
export function segmentFileName(baseSeq: number): string {
  return `segment-${String(baseSeq).padStart(16, '0')}.log`
}

export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name)
  return match?.[1] === undefined ? null : Number(match[1])
}

export function segmentPath(dir: string, baseSeq: number): string {
  return join(dir, segmentFileName(baseSeq))
}
