/**
 * How @actions/cache reads and writes this action's archives, in place of its own `tar -P`:
 * rollup.config.mjs answers the library's import of `./internal/tar.js` with this file, so its
 * extractTar, listTar and createTar are these. They work only inside a scope this action opened
 * (withinScope), in the directory the scope names, never GITHUB_WORKSPACE or the working directory.
 *
 * A restore reads the archive once, checking each member before it writes it, and refuses the whole
 * archive, removing all it wrote, when any member is absolute, has a `..` part, lies outside the one
 * path the entry holds, is anything but a regular file or a directory (a symlink, a hard link, a
 * device, a fifo), or when it is larger than the scope allows. It writes only regular files and
 * directories, each created anew under the scope's directory, which the extraction makes itself: no
 * member reaches anywhere else, even before the refusal. Each file is hashed as it is written, so a
 * caller can check it against a pin without reading it again. A restore that was abandoned (its time ran
 * out) extracts nothing, and one abandoned midway stops and removes what it wrote.
 *
 * No import of the project's own modules: the toolkit lives in the main chunk of the bundle, and this
 * file is a chunk of its own that the cache library's chunk loads.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, type Stats } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type { ReadEntry } from 'tar'

export interface ArchiveScope {
  /** a restore: where it extracts (made by the extraction: its parent must exist, it must not); a save: where it reads */
  dir: string
  /** the one path (relative to dir) the archive holds; every member is it or below it */
  only: string
  /** the most bytes the archive's files may have in all */
  maxBytes: number
  /** set by the owner of the scope when it no longer waits: nothing more is written */
  abandoned: boolean
  /** why the archive was refused, when it was (then nothing was extracted) */
  refused?: string
  /** the extraction began: the entry exists, whatever became of it */
  started?: boolean
  /**
   * a restore's files by their path below `only`, each with the SHA-256 (hex) of the bytes written: a
   * caller checks them against a pin without reading them again
   */
  sha256?: Map<string, string>
  debug(message: string): void
}

const scopes = new AsyncLocalStorage<ArchiveScope>()

/** Runs work (a restore or save of the cache library) with the archive functions bound to scope. */
export const withinScope = <T>(scope: ArchiveScope, work: () => Promise<T>): Promise<T> => scopes.run(scope, work)

function current(): ArchiveScope {
  const scope = scopes.getStore()
  if (!scope) throw new Error('an Actions cache archive is read or written only by a restore or save of this action')
  return scope
}

const MAX_MEMBERS = 100_000
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])

/** Why a member may not be extracted, or undefined: a relative path below `only`, a file or directory. */
export function memberProblem(name: string, type: string, only: string): string | undefined {
  const shown = JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name)
  if (name.includes('\0')) return `the member ${shown} has a NUL in its name`
  if (name.startsWith('/')) return `the member ${shown} has an absolute path`
  const parts = name.split('/').filter(p => p !== '' && p !== '.')
  if (parts.includes('..')) return `the member ${shown} has a ".." part`
  if (parts.length === 0 || parts[0] !== only) return `the member ${shown} is outside ${only}/, the one path the entry holds`
  if (type === 'Directory' || FILE_TYPES.has(type)) return undefined
  const what: Record<string, string> = {
    SymbolicLink: 'a symbolic link',
    Link: 'a hard link',
    CharacterDevice: 'a character device',
    BlockDevice: 'a block device',
    FIFO: 'a fifo'
  }
  return `the member ${shown} is ${what[type] ?? `of type ${type}`}, and only regular files and directories are restored`
}

const CHUNK = 1 << 20

/** How the archive is compressed, by its first bytes: what the library's method names, or nothing (createTar). */
async function compression(archive: string): Promise<'zstd' | 'gzip' | 'none'> {
  const fh = await fs.open(archive, 'r')
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0)
    if (bytesRead === 4 && buffer.readUInt32LE(0) === 0xfd2fb528) return 'zstd'
    return bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b ? 'gzip' : 'none'
  } finally {
    await fh.close()
  }
}

/**
 * The archive's tar stream: zstd through the zstd command (as the library requires it installed), gzip
 * through zlib, a plain tar as it is.
 */
async function decompressed(archive: string): Promise<{ stream: Readable; done: Promise<void>; stop: () => void }> {
  const how = await compression(archive)
  if (how !== 'zstd') {
    const file = createReadStream(archive, { highWaterMark: CHUNK })
    const stream = how === 'gzip' ? file.pipe(createGunzip()) : file
    return { stream, done: Promise.resolve(), stop: () => stream.destroy(new Error('stopped')) }
  }
  const child = spawn('zstd', ['-d', '-q', '-c', '--long=30', '--', archive], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-500)))
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', code => (code === 0 ? resolve() : reject(new Error(`zstd could not read the archive: ${stderr.trim()}`))))
  })
  return { stream: child.stdout, done, stop: () => child.kill('SIGKILL') }
}

/** Why the archive is refused: the restore removes what it wrote and uses nothing. */
class Refusal extends Error {}

/**
 * Writes the members under scope.dir in one pass, each checked before it is written, stopping as soon
 * as the scope is abandoned; a Refusal when a member or the archive may not be restored.
 */
async function extractInto(archive: string, scope: ArchiveScope): Promise<void> {
  const { Parser } = await import('tar')
  const root = path.resolve(scope.dir)
  let chain = Promise.resolve()
  let failed: Error | undefined
  let total = 0
  let count = 0
  const source = await decompressed(archive)
  const write = async (entry: ReadEntry): Promise<void> => {
    if (scope.abandoned) throw new Error('the restore was abandoned')
    const problem = memberProblem(entry.path, entry.type, scope.only)
    if (problem) throw new Refusal(problem)
    total += entry.size ?? 0
    if (total > scope.maxBytes) throw new Refusal(`its files are more than the ${scope.maxBytes} bytes an entry may hold`)
    if (++count > MAX_MEMBERS) throw new Refusal(`it has more than ${MAX_MEMBERS} members`)
    const parts = entry.path.split('/').filter(p => p !== '' && p !== '.')
    const target = path.join(root, ...parts)
    if (!target.startsWith(`${root}${path.sep}`)) throw new Refusal(`the member ${entry.path} is outside the directory`)
    if (entry.type === 'Directory') {
      await fs.mkdir(target, { recursive: true, mode: 0o700 })
      entry.resume()
      return
    }
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
    const hash = createHash('sha256')
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk)
        done(null, chunk)
      }
    })
    await pipeline(entry, hashing, createWriteStream(target, { flags: 'wx', mode: 0o600 }))
    scope.sha256?.set(parts.slice(1).join('/'), hash.digest('hex'))
  }
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      entry.pause()
      chain = chain.then(async () => {
        try {
          if (failed) throw failed
          await write(entry)
        } catch (err) {
          failed ??= err as Error
          source.stop()
          entry.resume()
        }
      })
    }
  })
  try {
    await Promise.all([pipeline(source.stream, parser), source.done])
  } catch (err) {
    await chain
    throw failed ?? new Refusal(`it is not an archive this action wrote (${(err as Error).message})`)
  }
  await chain
  if (failed) throw failed
  if (count === 0) throw new Refusal('it is empty')
}

/** The library's extractTar(archivePath, compressionMethod), for a restore of this action only. */
export async function extractTar(archivePath: string, _compressionMethod: string): Promise<void> {
  const scope = current()
  if (scope.abandoned) return
  scope.started = true
  try {
    // a directory of its own, made here: a late restore whose owner removed the parent makes nothing
    await fs.mkdir(scope.dir, { mode: 0o700 })
    await extractInto(archivePath, scope)
  } catch (err) {
    await fs.rm(scope.dir, { recursive: true, force: true })
    if (err instanceof Refusal) scope.refused = err.message
    else if (!scope.abandoned) scope.refused = `it could not be extracted (${(err as Error).message})`
    return
  }
  if (scope.abandoned) await fs.rm(scope.dir, { recursive: true, force: true })
}

/** The library's listTar, which it calls when debug logging is on: the member names, to the scope's debug log. */
export async function listTar(archivePath: string, _compressionMethod: string): Promise<void> {
  const scope = current()
  const { Parser } = await import('tar')
  const names: string[] = []
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      if (names.length < 1000) names.push(`${entry.type} ${entry.path}`)
      entry.resume()
    }
  })
  const source = await decompressed(archivePath).catch((err: Error) => {
    names.push(`(${err.message})`)
    return undefined
  })
  if (source)
    await Promise.all([pipeline(source.stream, parser), source.done]).catch((err: Error) => names.push(`(${err.message})`))
  scope.debug(`the archive holds: ${names.join(', ')}`)
}

/**
 * The library's createTar(archiveFolder, sourceDirectories, compressionMethod): the scope's one path,
 * from the scope's directory, regular files and directories only, into the file the library uploads.
 * The library's own list is relative to GITHUB_WORKSPACE, which this action never points anywhere.
 * What an entry holds is compressed already (gzip layers, a .tar.gz), so the archive is a plain tar
 * under the name the library's method gives it; a restore reads it by its first bytes.
 */
export async function createTar(archiveFolder: string, _sourceDirectories: string[], compressionMethod: string): Promise<void> {
  const scope = current()
  const { create } = await import('tar')
  const name = compressionMethod.startsWith('zstd') ? 'cache.tzst' : 'cache.tgz'
  const tarStream = create(
    {
      cwd: scope.dir,
      portable: true,
      follow: false,
      // a save reads files from disk: links and anything else are left out
      filter: (_p: string, st: Stats | ReadEntry) => ('isFile' in st ? st.isFile() || st.isDirectory() : false)
    },
    [scope.only]
  ) as unknown as Readable
  await pipeline(tarStream, createWriteStream(path.join(archiveFolder, name), { flags: 'wx', mode: 0o600 }))
}
