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
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { TOOL_CACHE_NAME } from '../../constants.js'
import { errno } from '../../fs.js'
import { PLATFORMS, emulatorName, type Platform } from '../../platform/platforms.js'
import { fileProblem, hostPlatform } from '../../platform/host.js'
import { emulatorsIn } from '../emulators.js'
import { sha256File } from '../hash.js'
import { qemuVersionOf } from '../qemu-version.js'
import { redactUrl } from '../redact.js'
import type { CachedEmulators, Emulators } from '../source.js'
import { META, cacheVersion, readMeta, toolCache, type Meta } from './entry.js'
import * as log from '../../log.js'

async function sizes(dir: string): Promise<Record<string, number>> {
  const files: Record<string, number> = {}
  for (const name of (await fs.readdir(dir)).filter(n => n.startsWith('qemu-')).sort()) {
    files[name] = (await fs.stat(path.join(dir, name))).size
  }
  return files
}

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
  await fs.rm(path.join(snap, META))
  // each file checked as soon as it is copied: the copies (the kernel's work, on the thread pool) go on
  // while this thread hashes those already taken
  const problems = await Promise.all(
    need.map(async p => {
      await copyOf(path.join(src, emulatorName(p)), path.join(snap, emulatorName(p)))
      return fileCheck(snap, emulatorName(p), meta, host)
    })
  )
  return problems.find(Boolean)
}

/**
 * What is wrong with one emulator of an entry, if anything: it must be an executable file for this host
 * whose content is what the metadata recorded when it was stored (its SHA-256).
 */
async function fileCheck(dir: string, name: string, meta: Meta, host: Platform): Promise<string | undefined> {
  const file = path.join(dir, name)
  const st = await fs.stat(file).catch(() => undefined)
  if (!st) return `${name} is missing`
  if (!st.isFile() || !(st.mode & 0o111)) return `${name} is not an executable file`
  const wrong = await fileProblem(file, host)
  if (wrong) return `${name} is ${wrong}`
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
