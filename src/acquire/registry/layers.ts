/**
 * Taking the wanted files out of an image's layers, lowest layer first, with the maintained `tar`
 * package reading the archives and this file deciding what is written:
 * - only regular files whose member path `wanted` accepts, each written by name under dir, created
 *   anew (never through an existing link);
 * - never a symlink, device, fifo or directory entry; a hard link only as a copy of a file already
 *   taken; no member with an absolute path or a `..` part, and nothing below a path a layer made a
 *   symlink;
 * - whiteouts (`.wh.<name>`, `.wh..wh..opq`) remove what lower layers gave, so the result is the
 *   image's file system as far as the wanted files go;
 * - at most maxBytes of files in all.
 *
 * A pull that names the files it needs (`enough`) stops reading a layer once that layer has given every
 * one of them. The layers above it are still read whole, so what they replace or remove still goes; what
 * goes unseen is only what the rest of that one layer might do after them (name one of them again, or
 * make its directory a link), which image builders never write. Each layer's digest was checked before
 * it is read, so what is taken is still what the pin names.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type { ReadEntry } from 'tar'
import { RegistryError, shown } from './errors.js'
import type { Debug } from './credentials.js'

export interface ExtractedFile {
  /** the member path in the image, without a leading `/` or `./`: `usr/bin/qemu-aarch64` */
  path: string
  /** where it was written: `<dir>/<path>` */
  file: string
  size: number
}

/** A member's path as a relative path, or undefined for an absolute one or one with a `..` part. */
export function memberPath(name: string): string | undefined {
  if (name.includes('\0') || name.startsWith('/')) return undefined
  const parts = name.split('/').filter(p => p !== '' && p !== '.')
  if (parts.length === 0 || parts.includes('..')) return undefined
  return parts.join('/')
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])
const WHITEOUT = '.wh.'
const OPAQUE = '.wh..wh..opq'

const CHUNK = 1 << 20

/** Whether the file starts as gzip does; anything else is read as a plain tar. */
async function gzipped(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r')
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0)
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b
  } finally {
    await fh.close()
  }
}

const under = (p: string, top: string): boolean => top === '' || p === top || p.startsWith(`${top}/`)

export class LayerExtractor {
  private readonly files = new Map<string, { layer: number; out: ExtractedFile }>()
  /** member paths that are symlinks in the image as far as it has been read */
  private readonly links = new Set<string>()
  private total = 0
  private layer = 0

  constructor(
    private readonly dir: string,
    private readonly wanted: (member: string) => boolean,
    private readonly maxBytes: number,
    private readonly debug: Debug,
    /** member paths that, once a layer has given them all, make the rest of that layer unneeded */
    private readonly enough: readonly string[] = []
  ) {}

  /** The files taken so far, by path. */
  result(): ExtractedFile[] {
    return [...this.files.values()].map(f => f.out).sort((a, b) => a.path.localeCompare(b.path))
  }

  /** Applies one layer (a tar file, gzip-compressed or not) over the ones before it. */
  async add(blob: string, what: string): Promise<void> {
    const { Parser } = await import('tar')
    this.layer++
    let chain = Promise.resolve()
    let failed: unknown
    const open = new Set<ReadEntry>()
    const stop = new AbortController()
    const onReadEntry = (entry: ReadEntry): void => {
      const step = stop.signal.aborted ? undefined : this.plan(entry)
      // only a write reads the entry's data; everything else lets the parser go on at once
      if (!step?.reads) entry.resume()
      else open.add(entry)
      chain = chain.then(async () => {
        try {
          if (failed) throw failed
          if (stop.signal.aborted) return
          await step?.run()
          if (step && this.hasEnough()) stop.abort()
        } catch (err) {
          failed ??= err
          entry.resume()
        } finally {
          open.delete(entry)
        }
      })
    }
    try {
      // zlib's own stream inflates on a worker thread, while this one parses and writes (tar's inflates here)
      const parser = new Parser({ strict: true, onReadEntry })
      const source = createReadStream(blob, { highWaterMark: CHUNK })
      const signal = stop.signal
      await ((await gzipped(blob))
        ? pipeline(source, createGunzip({ chunkSize: CHUNK }), parser, { signal })
        : pipeline(source, parser, { signal }))
    } catch (err) {
      if (!stop.signal.aborted) failed ??= err
      // an archive that breaks off leaves its last entry unfinished: end it, so its write fails
      for (const entry of open) if (entry.remain > 0) entry.destroy()
    }
    await chain
    // what follows the files needed is not read, or, when the archive broke off there, not needed
    if (this.hasEnough()) {
      this.debug(`${what} gave every file needed: the rest of it is not read`)
      return
    }
    if (failed instanceof RegistryError) throw failed
    if (failed) throw new RegistryError('unsupported', `could not extract ${what}: ${shown((failed as Error).message)}`)
  }

  /** Whether the layer being read has given every file in `enough`. */
  private hasEnough(): boolean {
    return this.enough.length > 0 && this.enough.every(p => this.files.get(p)?.layer === this.layer)
  }

  /** Removes every file taken (the pull failed). */
  async discard(): Promise<void> {
    for (const f of this.files.values()) await fs.rm(f.out.file, { force: true })
    this.files.clear()
  }

  /** What to do with an entry: bookkeeping now, and the writing to do in order, if any. */
  private plan(entry: ReadEntry): { run: () => Promise<void>; reads?: boolean } | undefined {
    const p = memberPath(entry.path)
    if (!p) {
      this.debug(`a layer member is skipped: ${shown(entry.path, 120)} is absolute or has a .. part`)
      return undefined
    }
    const base = path.posix.basename(p)
    const parent = path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p)
    if (base === OPAQUE) return { run: () => this.remove(parent, true) }
    if (base.startsWith(WHITEOUT)) return { run: () => this.remove(path.posix.join(parent, base.slice(WHITEOUT.length)), false) }
    if (entry.type === 'SymbolicLink') {
      const run = async (): Promise<void> => {
        await this.remove(p, false)
        this.links.add(p)
      }
      return { run }
    }
    if (entry.type === 'Directory') return { run: async () => void this.links.delete(p) }
    if (!this.wanted(p)) return undefined
    if (entry.type === 'Link')
      return { run: async () => (this.belowLink(p) ? undefined : this.copyLink(p, entry.linkpath ?? '')) }
    if (!FILE_TYPES.has(entry.type)) {
      this.debug(`${shown(p, 120)} is a ${entry.type}, not a regular file: not taken`)
      return undefined
    }
    // whether a link is above it is known only once the entries before it are done
    return { run: async () => (this.belowLink(p) ? void entry.resume() : this.write(p, entry)), reads: true }
  }

  private belowLink(p: string): boolean {
    const link = [...this.links].find(l => under(p, l))
    if (link) this.debug(`${shown(p, 120)} is below ${shown(link, 120)}, a symlink in the image: not taken`)
    return link !== undefined
  }

  private target(p: string): string {
    const file = path.join(this.dir, p)
    if (!file.startsWith(`${path.resolve(this.dir)}${path.sep}`))
      throw new RegistryError('refused', `${shown(p)} is outside the directory`)
    return file
  }

  /** Removes what lower layers gave at p (or below it): a whiteout, or a link that replaces a file. */
  private async remove(p: string, belowOnly: boolean): Promise<void> {
    for (const [name, f] of this.files) {
      if (f.layer < this.layer && under(name, p) && !(belowOnly && name === p)) {
        await fs.rm(f.out.file, { force: true })
        this.files.delete(name)
      }
    }
    for (const l of [...this.links]) if (under(l, p) && !(belowOnly && l === p)) this.links.delete(l)
  }

  /** Where member p goes, with room made for it, once its size is known to fit under the cap. */
  private async place(p: string, size: number): Promise<string> {
    if (this.total + size > this.maxBytes) {
      throw new RegistryError(
        'unsupported',
        `the wanted files are more than the ${this.maxBytes} bytes allowed (at ${shown(p, 120)})`
      )
    }
    const file = this.target(p)
    await this.forget(p, file)
    await fs.mkdir(path.dirname(file), { recursive: true })
    return file
  }

  private async write(p: string, entry: ReadEntry): Promise<void> {
    const file = await this.place(p, entry.size)
    let size = 0
    // no hash here: the layer was checked against its digest, and the tool cache hashes what it keeps
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length
        done(null, chunk)
      }
    })
    const mode = entry.mode && entry.mode & 0o111 ? 0o755 : 0o644
    try {
      await pipeline(entry, count, createWriteStream(file, { flags: 'wx', mode }))
      await fs.chmod(file, mode)
    } catch (err) {
      await fs.rm(file, { force: true })
      throw err
    }
    this.total += size
    this.files.set(p, { layer: this.layer, out: { path: p, file, size } })
  }

  /** A hard link to a file already taken, as a copy of it; any other is not taken. */
  private async copyLink(p: string, linkpath: string): Promise<void> {
    const from = this.files.get(memberPath(linkpath) ?? '')
    if (!from) {
      this.debug(`${shown(p, 120)} is a hard link to ${shown(linkpath, 120)}, which is not a file taken here: not taken`)
      return
    }
    const file = await this.place(p, from.out.size)
    await fs.copyFile(from.out.file, file, fs.constants.COPYFILE_EXCL)
    await fs.chmod(file, (await fs.stat(from.out.file)).mode & 0o777)
    this.total += from.out.size
    this.files.set(p, { layer: this.layer, out: { ...from.out, path: p, file } })
  }

  /** A file taken before at p is replaced: its bytes no longer count. */
  private async forget(p: string, file: string): Promise<void> {
    const had = this.files.get(p)
    if (had) this.total -= had.out.size
    this.files.delete(p)
    await fs.rm(file, { force: true })
  }
}
