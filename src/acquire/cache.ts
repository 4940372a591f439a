/**
 * The runner's tool cache, keyed by what the emulators are (image digest or tarball checksum) and the
 * host arch, so matrix jobs and different pins never collide. A small metadata file says what is inside,
 * with each file's SHA-256.
 *
 * Jobs on one runner share it, so a published entry is never changed in place: a writer builds its
 * entry beside the final one and renames it into place, and a reader registers from a private copy of
 * it in its own scratch directory, checked against the recorded hashes after it is taken. The hashes catch a damaged
 * or mixed-up entry; a party that can write the tool cache can rewrite the metadata as well.
 */
import type * as ToolCacheClient from '@actions/tool-cache'
import type { Stats } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { TOOL_CACHE_NAME } from '../constants.js'
import { PLATFORMS, emulatorName, type Platform } from '../platforms.js'
import { fileProblem, hostPlatform } from './elf.js'
import { emulatorsIn } from './emulators.js'
import { sha256File } from './hash.js'
import { qemuVersionOf } from './qemu-version.js'
import { redactUrl } from './redact.js'
import type { CachedEmulators, Emulators } from './source.js'
import * as log from '../log.js'

const META = 'setup-qemu.json'

interface Meta {
  key: string
  version?: string
  /** where the files came from, redacted: the cache is shared and outlives the job */
  from: string
  /** true when every emulator the source has is in the entry */
  complete: boolean
  /** file sizes, by name in sorted order (earlier versions of this action compare them as JSON) */
  files: Record<string, number>
  /** each file's SHA-256 when it was stored: what a run registers is checked against it */
  sha256?: Record<string, string>
}

/** tool-cache wants a semver; a prerelease tag carries the key (the leading letter keeps it valid). */
export const cacheVersion = (key: string): string => `0.0.0-k${key.replace(/[^a-zA-Z0-9]/g, '').slice(0, 64)}`

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code

async function sizes(dir: string): Promise<Record<string, number>> {
  const files: Record<string, number> = {}
  for (const name of (await fs.readdir(dir)).filter(n => n.startsWith('qemu-')).sort()) {
    files[name] = (await fs.stat(path.join(dir, name))).size
  }
  return files
}

/** The toolkit's tool cache, loaded when first asked for: it brings an HTTP client that a run with nothing to fetch never uses. */
export const toolCache = (): Promise<typeof ToolCacheClient> => import('@actions/tool-cache')

const readMeta = async (dir: string): Promise<Meta> => JSON.parse(await fs.readFile(path.join(dir, META), 'utf8')) as Meta

/**
 * The entry for key, as it is now. Cheap (metadata and file sizes, no hashing), since it is asked on
 * the fast path where nothing may need the files: its `dir` is the shared entry, good for planning only.
 * Register from what useCached returns.
 */
export async function findCached(key: string): Promise<CachedEmulators | undefined> {
  let dir: string
  try {
    dir = (await toolCache()).find(TOOL_CACHE_NAME, cacheVersion(key), os.arch())
  } catch {
    return undefined // no tool cache on this runner
  }
  if (!dir) return undefined
  try {
    const meta = await readMeta(dir)
    if (!meta.sha256) {
      log.info(`the tool cache entry ${dir} has no checksums (an older version stored it): fetching again`)
      return undefined
    }
    if (meta.key !== key || JSON.stringify(await sizes(dir)) !== JSON.stringify(meta.files)) {
      log.info(`the tool cache entry ${dir} does not match its metadata: fetching again`)
      return undefined
    }
    const hashed = meta.sha256
    const has = new Set([...(await emulatorsIn(dir))].filter(a => PLATFORMS.some(p => p.arch === a && hashed[emulatorName(p)])))
    return {
      dir,
      archs: has,
      key,
      version: qemuVersionOf(meta.version),
      origin: 'tool cache',
      from: redactUrl(meta.from),
      complete: meta.complete
    }
  } catch {
    return undefined
  }
}

/** Whether the entry can answer the request: it holds all the source has, or every wanted platform. */
export const covers = (cached: CachedEmulators, wanted: 'all' | readonly Platform[]): boolean =>
  cached.complete || (wanted !== 'all' && wanted.every(p => cached.archs.has(p.arch)))

/**
 * This run's own copy of the wanted emulators of a cache entry, in workDir: a copy of the content, not
 * a link to the same file, so neither another job replacing the entry nor anyone writing to its files
 * in place changes it. Only the emulators this run needs are taken and hashed, after they are copied,
 * so what is checked is what gets registered. Undefined, with the reason in the log, when the entry does
 * not cover the request or does not pass its checks: the source then fetches again.
 */
export async function useCached(
  cached: CachedEmulators,
  wanted: 'all' | readonly Platform[],
  workDir: string,
  host: Platform = hostPlatform(),
  retry = true
): Promise<Emulators | undefined> {
  if (!covers(cached, wanted)) return undefined
  const need = PLATFORMS.filter(p => cached.archs.has(p.arch) && (wanted === 'all' || wanted.includes(p)))
  const snap = await fs.mkdtemp(path.join(workDir, 'cache-'))
  try {
    const problem = await snapshot(cached.dir, snap, need, cached.key, host)
    if (problem) {
      log.warning(`the tool cache entry ${cached.dir} is ignored: ${problem}. Fetching the emulators again.`)
      await fs.rm(snap, { recursive: true, force: true })
      return undefined
    }
    return {
      dir: snap,
      archs: new Set(need.map(p => p.arch)),
      key: cached.key,
      version: cached.version,
      origin: 'tool cache',
      from: cached.from
    }
  } catch (err) {
    await fs.rm(snap, { recursive: true, force: true })
    // the entry was replaced while it was being linked: take the new one
    if (errno(err) === 'ENOENT' && retry) {
      const again = await findCached(cached.key)
      if (again) return useCached(again, wanted, workDir, host, false)
    }
    log.info(`could not take the emulators from the tool cache (${(err as Error).message}): fetching again`)
    return undefined
  }
}

/** Copies what is needed into snap and checks it; the reason it is unusable, if it is. */
async function snapshot(
  src: string,
  snap: string,
  need: readonly Platform[],
  key: string,
  host: Platform
): Promise<string | undefined> {
  // the metadata first: a replacement entry linked meanwhile holds the same files for the same key
  await copyOf(path.join(src, META), path.join(snap, META))
  const meta = await readMeta(snap)
  if (meta.key !== key) return 'its metadata names another key'
  for (const p of need) await copyOf(path.join(src, emulatorName(p)), path.join(snap, emulatorName(p)))
  await fs.rm(path.join(snap, META))
  const problems = await Promise.all(need.map(async p => fileCheck(snap, emulatorName(p), meta, host)))
  return problems.find(Boolean)
}

/**
 * What is wrong with one emulator of an entry, if anything: it must be an executable file for this host
 * whose content is what the metadata recorded when it was stored: its SHA-256, or, where something else
 * already proved the content whole, its size.
 */
async function fileCheck(
  dir: string,
  name: string,
  meta: Meta,
  host: Platform,
  content: 'sha256' | 'size' = 'sha256'
): Promise<string | undefined> {
  const file = path.join(dir, name)
  const st = await fs.stat(file).catch(() => undefined)
  if (!st) return `${name} is missing`
  if (!st.isFile() || !(st.mode & 0o111)) return `${name} is not an executable file`
  const wrong = await fileProblem(file, host)
  if (wrong) return `${name} is ${wrong}`
  if (content === 'size') return meta.files[name] === st.size ? undefined : `${name} is not the size recorded when it was stored`
  const want = meta.sha256?.[name]
  if (!want) return `no SHA-256 was recorded for ${name}`
  if ((await sha256File(file)) !== want) return `${name} does not match the SHA-256 recorded when it was stored`
  return undefined
}

/**
 * A copy of src's content at dst, which no write to src reaches: a reflink where the filesystem has
 * them (btrfs, XFS: no data is copied), the bytes otherwise (~100 MB for every emulator).
 */
async function copyOf(src: string, dst: string): Promise<void> {
  await fs.copyFile(src, dst, fs.constants.COPYFILE_FICLONE)
  await fs.chmod(dst, 0o755)
}

/** A private link to src at dst, or a copy where links cannot be made. */
export async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await fs.link(src, dst)
  } catch (err) {
    if (errno(err) === 'ENOENT') throw err
    // another filesystem (EXDEV), or links refused (protected_hardlinks): a copy is just as private
    await fs.copyFile(src, dst)
    await fs.chmod(dst, 0o755)
  }
}

/**
 * Keeps a copy for later runs. This run goes on registering from its own directory; the entry is
 * written aside and renamed into place, so no reader ever sees a half-written one, and an entry that
 * passes its checks is never deleted or rewritten (unless by one that holds more, when it is not
 * complete). A cache that cannot be written is a warning, not a failure.
 */
export async function storeInCache(e: Emulators, complete: boolean): Promise<Emulators> {
  try {
    log.info(await publish(e, complete, hostPlatform()))
  } catch (err) {
    log.warning(
      `could not keep the emulators in the tool cache (${(err as Error).message}); the next run fetches them again. ` +
        "Check that RUNNER_TOOL_CACHE is set and that the runner's user can write there."
    )
  }
  return e
}

interface Existing {
  stat: Stats
  valid: boolean
  complete: boolean
  names: ReadonlySet<string>
}

async function publish(e: Emulators, complete: boolean, host: Platform): Promise<string> {
  const root = process.env.RUNNER_TOOL_CACHE
  if (!root) throw new Error('RUNNER_TOOL_CACHE is not set')
  const base = path.join(root, TOOL_CACHE_NAME, cacheVersion(e.key))
  const arch = os.arch()
  const final = path.join(base, arch)
  // tc.find takes an entry only with this marker; it is written last
  const marker = `${final}.complete`
  const names = PLATFORMS.filter(p => e.archs.has(p.arch))
    .map(emulatorName)
    .sort()
  await fs.mkdir(base, { recursive: true })

  const existing = await inspectEntry(final, e.key, host)
  if (existing?.valid) {
    const superset = [...existing.names].every(n => names.includes(n))
    const grows = !existing.complete && superset && (complete || names.length > existing.names.size)
    if (!grows) {
      await fs.writeFile(marker, '') // its writer may have stopped just before the marker
      return `already in the tool cache: ${final}`
    }
  }

  const tmp = await fs.mkdtemp(path.join(base, `.${arch}.new-`))
  const aside = path.join(base, `.${arch}.old-${path.basename(tmp).slice(-6)}`)
  try {
    const files: Record<string, number> = {}
    const sha256: Record<string, string> = {}
    for (const name of names) {
      const file = path.join(tmp, name)
      await fs.copyFile(path.join(e.dir, name), file)
      await fs.chmod(file, 0o755)
      // what is published is checked and hashed, not what it was copied from
      const wrong = await fileProblem(file, host)
      if (wrong) throw new Error(`${name} is ${wrong}`)
      files[name] = (await fs.stat(file)).size
      sha256[name] = await sha256File(file)
    }
    const meta: Meta = { key: e.key, version: e.version, from: redactUrl(e.from), complete, files, sha256 }
    await fs.writeFile(path.join(tmp, META), JSON.stringify(meta, null, 2))

    if (existing && !(await moveAside(final, aside, existing.stat))) {
      return `another job has just stored ${final}: kept theirs`
    }
    try {
      await fs.rename(tmp, final)
    } catch (err) {
      if (errno(err) === 'ENOTEMPTY' || errno(err) === 'EEXIST') return `another job has just stored ${final}: kept theirs`
      throw err
    }
    await fs.writeFile(marker, '')
    return `kept in the tool cache: ${final}`
  } finally {
    await fs.rm(tmp, { recursive: true, force: true })
    await fs.rm(aside, { recursive: true, force: true })
  }
}

/**
 * Renames the entry that was checked out of the way, in one step. False when what was there had been
 * replaced since (another writer): that one is put back and left alone.
 */
async function moveAside(final: string, aside: string, checked: Stats): Promise<boolean> {
  try {
    await fs.rename(final, aside)
  } catch (err) {
    if (errno(err) === 'ENOENT') return true
    throw err
  }
  const st = await fs.lstat(aside)
  if (st.ino === checked.ino && st.dev === checked.dev) return true
  await fs.rename(aside, final).catch(() => undefined)
  return false
}

/** What is at final now: undefined when nothing; valid only if every file matches its size, hash and ELF check. */
async function inspectEntry(final: string, key: string, host: Platform): Promise<Existing | undefined> {
  let stat: Stats
  try {
    stat = await fs.lstat(final)
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined
    throw err
  }
  const invalid: Existing = { stat, valid: false, complete: false, names: new Set() }
  if (!stat.isDirectory()) return invalid
  try {
    const meta = await readMeta(final)
    const names = Object.keys(meta.sha256 ?? {}).sort()
    const onDisk = (await fs.readdir(final)).filter(n => n.startsWith('qemu-')).sort()
    if (meta.key !== key || !meta.sha256 || names.length === 0 || names.join('/') !== onDisk.join('/')) return invalid
    for (const name of names) {
      const file = path.join(final, name)
      const st = await fs.lstat(file)
      if (!st.isFile() || !(st.mode & 0o111) || meta.files[name] !== st.size) return invalid
      if ((await fileProblem(file, host)) || (await sha256File(file)) !== meta.sha256[name]) return invalid
    }
    return { stat, valid: true, complete: meta.complete, names: new Set(names) }
  } catch {
    return invalid
  }
}

/**
 * An entry from elsewhere (the Actions cache restored it into dir), as this run's own emulators: every
 * file must be an emulator of the table, an executable for this host, and of the size its metadata
 * records. Its content was hashed when it was saved (exportEntry), and the archive that brought it
 * carries a checksum of all of it that its extraction verifies, so hashing it again here (~0.2 s for
 * all of them) would find nothing new. Otherwise the reason it is not usable.
 */
export async function checkEntry(dir: string, key: string, host: Platform = hostPlatform()): Promise<CachedEmulators | string> {
  let meta: Meta
  try {
    meta = await readMeta(dir)
  } catch {
    return 'it has no readable metadata'
  }
  if (meta.key !== key) return 'its metadata names another key'
  const names = Object.keys(meta.sha256 ?? {})
  const known = PLATFORMS.filter(p => names.includes(emulatorName(p)))
  if (names.length === 0 || new Set(known.map(emulatorName)).size !== names.length) return 'it holds files that are not emulators'
  const problem = (await Promise.all(names.map(async name => fileCheck(dir, name, meta, host, 'size')))).find(Boolean)
  if (problem) return problem
  return {
    dir,
    archs: new Set(known.map(p => p.arch)),
    key,
    version: qemuVersionOf(meta.version),
    origin: 'Actions cache',
    from: redactUrl(String(meta.from)),
    complete: meta.complete === true
  }
}

/**
 * The emulators named of a tool cache entry, with metadata for just them, in dir: what the Actions
 * cache saves. Each must still match the SHA-256 recorded when the entry was stored: what a later job
 * restores is checked by the archive's own checksum from here on. The reason when one does not.
 */
export async function exportEntry(
  entry: CachedEmulators,
  names: readonly string[],
  dir: string,
  host: Platform = hostPlatform()
): Promise<string | undefined> {
  const meta = await readMeta(entry.dir)
  await fs.mkdir(dir, { recursive: true })
  for (const name of names) await linkOrCopy(path.join(entry.dir, name), path.join(dir, name))
  const problem = (await Promise.all(names.map(async name => fileCheck(dir, name, meta, host)))).find(Boolean)
  if (problem) return problem
  const pick = <T>(r: Record<string, T>): Record<string, T> => Object.fromEntries(names.map(n => [n, r[n]]))
  const out: Meta = {
    ...meta,
    complete: meta.complete && names.length === Object.keys(meta.files).length,
    files: pick(meta.files),
    sha256: pick(meta.sha256 ?? {})
  }
  await fs.writeFile(path.join(dir, META), JSON.stringify(out, null, 2))
  return undefined
}
