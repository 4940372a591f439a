/**
 * Tar archives written byte by byte (ustar headers), so a test can build any member the format allows,
 * hostile ones included, without the library under test taking part.
 */
import { gzipSync } from 'node:zlib'

export interface Member {
  name: string
  /** ustar type flag: 0 file, 1 hard link, 2 symlink, 3 char device, 5 directory, 6 fifo */
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6'
  body?: string | Buffer
  linkname?: string
  mode?: number
}

function octal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii')
}

function headerOf(m: Member, size: number): Buffer {
  const h = Buffer.alloc(512)
  h.write(m.name, 0, 100, 'utf8')
  octal(h, 100, 8, m.mode ?? (m.type === '5' ? 0o755 : 0o755))
  octal(h, 108, 8, 0)
  octal(h, 116, 8, 0)
  octal(h, 124, 12, size)
  octal(h, 136, 12, 1_700_000_000)
  h.write(m.type ?? '0', 156, 1, 'ascii')
  if (m.linkname) h.write(m.linkname, 157, 100, 'utf8')
  h.write('ustar\0', 257, 6, 'ascii')
  h.write('00', 263, 2, 'ascii')
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii')
  return h
}

/** An uncompressed tar of the members, in order. */
export function tar(members: readonly Member[]): Buffer {
  const parts: Buffer[] = []
  for (const m of members) {
    const body = Buffer.from(m.body ?? '')
    const size = m.type === undefined || m.type === '0' ? body.length : 0
    parts.push(headerOf(m, size))
    if (size > 0) parts.push(body, Buffer.alloc((512 - (size % 512)) % 512))
  }
  parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

export const tarGz = (members: readonly Member[]): Buffer => gzipSync(tar(members))
