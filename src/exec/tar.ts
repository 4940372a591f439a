/**
 * A tar stream of a few regular files, to hand files to a container on its stdin: an engine over TCP,
 * in another mount namespace or on another machine cannot see the runner's paths, but every engine
 * passes stdin through. Plain ustar, which every tar (busybox's included) reads.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

export interface TarFile {
  /** the path inside the archive, relative (no leading `/`) */
  name: string
  data: Buffer
  mode: number
}

const BLOCK = 512

function header(f: TarFile): Buffer {
  const h = Buffer.alloc(BLOCK)
  // a long name goes in ustar's prefix field, split at a slash
  let name = f.name
  let prefix = ''
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155)
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`path too long for a tar stream: ${f.name}`)
    prefix = name.slice(0, cut)
    name = name.slice(cut + 1)
  }
  const octal = (v: number, width: number): string => v.toString(8).padStart(width - 1, '0')
  h.write(name, 0, 100)
  h.write(octal(f.mode & 0o7777, 8), 100, 8)
  h.write(octal(0, 8), 108, 8) // uid
  h.write(octal(0, 8), 116, 8) // gid
  h.write(octal(f.data.length, 12), 124, 12)
  h.write(octal(0, 12), 136, 12) // mtime
  h.write(' '.repeat(8), 148, 8) // checksum counts as spaces while it is computed
  h.write('0', 156, 1) // a regular file
  h.write('ustar\u000000', 257, 8)
  h.write(prefix, 345, 155)
  let sum = 0
  for (const b of h) sum += b
  h.write(`${octal(sum, 7)}\u0000 `, 148, 8)
  return h
}

export function tarOf(files: readonly TarFile[]): Buffer {
  const parts: Buffer[] = []
  for (const f of files) {
    if (f.name.startsWith('/') || f.name.split('/').includes('..')) throw new Error(`not a relative path: ${f.name}`)
    parts.push(header(f), f.data, Buffer.alloc((BLOCK - (f.data.length % BLOCK)) % BLOCK))
  }
  parts.push(Buffer.alloc(2 * BLOCK))
  return Buffer.concat(parts)
}

/**
 * The regular files of a directory (not below it), to appear under `target` inside the container: a
 * file, not what a link points at, so only what was checked is sent.
 */
export async function filesOf(dir: string, target: string): Promise<TarFile[]> {
  const files: TarFile[] = []
  for (const name of (await fs.readdir(dir)).sort()) {
    const file = path.join(dir, name)
    const st = await fs.lstat(file)
    if (!st.isFile()) continue
    files.push({ name: path.posix.join(target, name).replace(/^\/+/, ''), data: await fs.readFile(file), mode: st.mode })
  }
  return files
}
