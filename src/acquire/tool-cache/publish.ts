/**
 * Writing the runner's tool cache (read.ts reads it): an entry is built beside the final one and
 * renamed into place, so no reader ever sees a half-written one, and every file is checked and hashed
 * as it is published, not as it was found.
 */
import type { Stats } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { TOOL_CACHE_NAME } from '../../constants.js'
import { PLATFORMS, emulatorName, type Platform } from '../../platform/platforms.js'
import { META, cacheVersion, readMeta, type Meta } from './entry.js'
import { errno } from '../../fs.js'
import { fileProblem, hostPlatform } from '../../platform/host.js'
import { sha256File } from '../hash.js'
import { redactUrl } from '../redact.js'
import type { Emulators } from '../source.js'
import * as log from '../../log.js'

/**
 * Keeps a copy for later runs. This run goes on registering from its own directory; the entry is
 * written aside and renamed into place, so no reader ever sees a half-written one, and an entry that
 * passes its checks is never deleted or rewritten (unless by one that holds more, when it is not
 * complete). A cache that cannot be written is a warning, not a failure.
 */
export async function storeInCache(e: Emulators, complete: boolean): Promise<Emulators> {
  ;(await keepInCache(e, complete))()
  return e
}

/**
 * storeInCache while the run goes on: register and verify need only the run's own directory, so the copy
 * is written meanwhile. Settles, never rejecting, with what logs how it went, for the caller to call
 * where the line belongs, and before that directory is removed.
 */
export function keepInCache(e: Emulators, complete: boolean): Promise<() => void> {
  return publish(e, complete, hostPlatform()).then(
    said => () => log.info(said),
    (err: unknown) => () =>
      log.warning(
        `could not keep the emulators in the tool cache (${(err as Error).message}); the next run fetches them again. ` +
          "Check that RUNNER_TOOL_CACHE is set and that the runner's user can write there."
      )
  )
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
