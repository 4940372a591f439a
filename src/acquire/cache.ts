/**
 * The runner's tool cache, keyed by what the emulators are (image digest or tarball checksum) and the
 * host arch, so matrix jobs and different pins never collide. A small metadata file says what is inside.
 */
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { TOOL_CACHE_NAME } from '../constants.js'
import { emulatorsIn } from './emulators.js'
import type { CachedEmulators, Emulators } from './source.js'

const META = 'setup-qemu.json'

interface Meta {
  key: string
  version?: string
  from: string
  /** true when every emulator the source has is in the entry */
  complete: boolean
  /** file sizes: an entry that two jobs wrote at once, or that was cut short, does not match */
  files: Record<string, number>
}

/** tool-cache wants a semver; a prerelease tag carries the key (the leading letter keeps it valid). */
export const cacheVersion = (key: string): string => `0.0.0-k${key.replace(/[^a-zA-Z0-9]/g, '').slice(0, 64)}`

async function sizes(dir: string): Promise<Record<string, number>> {
  const files: Record<string, number> = {}
  for (const name of (await fs.readdir(dir)).filter(n => n.startsWith('qemu-')).sort()) {
    files[name] = (await fs.stat(path.join(dir, name))).size
  }
  return files
}

export async function findCached(key: string): Promise<CachedEmulators | undefined> {
  const dir = tc.find(TOOL_CACHE_NAME, cacheVersion(key), os.arch())
  if (!dir) return undefined
  try {
    const meta = JSON.parse(await fs.readFile(path.join(dir, META), 'utf8')) as Meta
    if (meta.key !== key || JSON.stringify(await sizes(dir)) !== JSON.stringify(meta.files)) {
      core.info(`the tool cache entry ${dir} does not match its metadata: fetching again`)
      return undefined
    }
    return { dir, has: await emulatorsIn(dir), key, version: meta.version, origin: 'tool cache', from: meta.from, complete: meta.complete }
  } catch {
    return undefined
  }
}

/**
 * Keeps a copy for later runs. This run goes on registering from its own extracted copy, so a job
 * caching the same key at the same moment (two jobs on one self-hosted runner) cannot pull the files
 * from under it; a cache that cannot be written is a warning, not a failure.
 */
export async function storeInCache(e: Emulators, complete: boolean): Promise<Emulators> {
  try {
    const meta: Meta = { key: e.key, version: e.version, from: e.from, complete, files: await sizes(e.dir) }
    await fs.writeFile(path.join(e.dir, META), JSON.stringify(meta, null, 2))
    const dir = await tc.cacheDir(e.dir, TOOL_CACHE_NAME, cacheVersion(e.key), os.arch())
    core.info(`kept in the tool cache: ${dir}`)
  } catch (err) {
    core.warning(`could not keep the emulators in the tool cache (${(err as Error).message}); the next run fetches them again`)
  }
  return e
}
