/**
 * Content named by its digest: bytes are checked against it before anything reads them, and a blob is
 * checked as it streams to disk (SHA-256 and size), so a file that did not match never appears under
 * its name. A store keeps what was fetched, named by digest; whatever is taken from it is checked again,
 * so a store restored from a cache is a copy, never an authority.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { sha256File } from '../hash.js'
import { IntegrityError, RegistryError, shown } from './errors.js'
import type { Response } from './http.js'

export const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** Throws unless bytes are what digest names. */
export function checkBytes(bytes: Buffer, digest: string, what: string): Buffer {
  const got = sha256(bytes)
  if (got !== digest) throw new IntegrityError(`${what} does not match its digest: expected ${digest}, got ${got}`)
  return bytes
}

export interface Expected {
  digest: string
  size: number
}

/**
 * Streams a body to file, checking size and SHA-256 on the way; nothing is left at file or beside it
 * unless all of it matched. A body longer than expected is cut off as soon as it passes the size.
 */
export async function saveChecked(r: Response, file: string, want: Expected, what: string): Promise<void> {
  const partial = `${file}.partial-${randomBytes(6).toString('hex')}`
  const hash = createHash('sha256')
  let size = 0
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length
      if (size > want.size)
        return done(new IntegrityError(`${what} is longer than the ${want.size} bytes its digest was given for`))
      hash.update(chunk)
      done(null, chunk)
    }
  })
  try {
    try {
      await pipeline(r.body, check, createWriteStream(partial, { flags: 'wx', mode: 0o600 }))
    } catch (err) {
      if (err instanceof IntegrityError || err instanceof RegistryError) throw err
      throw new RegistryError('unreachable', `${what} was cut short: ${shown((err as Error).message)}`, true)
    }
    if (size !== want.size) throw new IntegrityError(`${what} is ${size} bytes, not the ${want.size} its digest was given for`)
    const got = `sha256:${hash.digest('hex')}`
    if (got !== want.digest) throw new IntegrityError(`${what} does not match its digest: expected ${want.digest}, got ${got}`)
    await fs.rename(partial, file)
  } finally {
    await fs.rm(partial, { force: true })
  }
}

/** Content by digest in a directory: `<dir>/sha256/<hex>`. */
export class Store {
  /** digests whose stored file did not match them (and was removed) */
  readonly mismatched = new Set<string>()

  constructor(
    readonly dir: string,
    /** digests whose file here was hashed as it was written, and matched: only their size is checked again */
    private readonly checked: ReadonlySet<string> = new Set()
  ) {}

  path(digest: string): string {
    return path.join(this.dir, 'sha256', digest.slice('sha256:'.length))
  }

  async prepare(): Promise<void> {
    await fs.mkdir(path.join(this.dir, 'sha256'), { recursive: true })
  }

  /** The stored bytes of digest if they match it (up to max bytes); a stored file that does not is removed. */
  async bytes(digest: string, max: number): Promise<Buffer | undefined> {
    const file = this.path(digest)
    const st = await fs.lstat(file).catch(() => undefined)
    if (!st?.isFile() || st.size > max) return undefined
    const bytes = await fs.readFile(file)
    if (sha256(bytes) === digest) return bytes
    this.mismatched.add(digest)
    await fs.rm(file, { force: true })
    return undefined
  }

  /** The stored file of a blob if it matches its size and digest; one that does not is removed. */
  async file(want: Expected): Promise<string | undefined> {
    const file = this.path(want.digest)
    const st = await fs.lstat(file).catch(() => undefined)
    if (!st) return undefined
    const matches = async (): Promise<boolean> =>
      this.checked.has(want.digest) || `sha256:${await sha256File(file)}` === want.digest
    if (st.isFile() && st.size === want.size && (await matches())) return file
    this.mismatched.add(want.digest)
    await fs.rm(file, { force: true })
    return undefined
  }

  /** Keeps bytes already checked against digest. */
  async put(digest: string, bytes: Buffer): Promise<void> {
    const file = this.path(digest)
    const partial = `${file}.partial-${randomBytes(6).toString('hex')}`
    try {
      await fs.writeFile(partial, bytes, { flag: 'wx', mode: 0o600 })
      await fs.rename(partial, file)
    } finally {
      await fs.rm(partial, { force: true })
    }
  }
}
