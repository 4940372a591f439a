/**
 * The runner's tool cache, keyed by what the emulators are (image digest or tarball checksum) and the
 * host arch, so matrix jobs and different pins never collide. A small metadata file says what is inside.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as os from 'node:os'
import * as tc from '@actions/tool-cache'
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
}

/** tool-cache wants a semver; a prerelease tag carries the key (the leading letter keeps it valid). */
export const cacheVersion = (key: string): string => `0.0.0-k${key.replace(/[^a-zA-Z0-9]/g, '').slice(0, 64)}`

export async function findCached(key: string): Promise<CachedEmulators | undefined> {
  const dir = tc.find(TOOL_CACHE_NAME, cacheVersion(key), os.arch())
  if (!dir) return undefined
  try {
    const meta = JSON.parse(await fs.readFile(path.join(dir, META), 'utf8')) as Meta
    if (meta.key !== key) return undefined
    return { dir, has: await emulatorsIn(dir), key, version: meta.version, origin: 'tool cache', from: meta.from, complete: meta.complete }
  } catch {
    return undefined
  }
}

export async function storeInCache(e: Emulators, complete: boolean): Promise<Emulators> {
  const meta: Meta = { key: e.key, version: e.version, from: e.from, complete }
  await fs.writeFile(path.join(e.dir, META), JSON.stringify(meta, null, 2))
  const dir = await tc.cacheDir(e.dir, TOOL_CACHE_NAME, cacheVersion(e.key), os.arch())
  return { ...e, dir }
}
