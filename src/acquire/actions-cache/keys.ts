/**
 * What a restore (main) and a save (post) of the Actions cache share: whether the cache is used, the
 * entries' keys and paths, and the state main hands post. An entry holds what a pin can check: an
 * image's blobs as the registry served them (index, manifest, config, layers, each named by its
 * digest), or a release tarball. Its key names that content, so one key always holds the same thing
 * and an entry never needs replacing.
 */
import type * as ActionsCacheClient from '@actions/cache'
import * as path from 'node:path'
import { runnerTemp } from '../../scratch.js'

/** The library and its Azure client are large: loaded only on a hosted runner that needs them. */
export const client = (): Promise<typeof ActionsCacheClient> => import('@actions/cache')

/** What an entry holds: an image's blobs, or a tarball. */
export type Holds = 'image' | 'tarball'

// v4: the archive is a plain tar (archive.ts)
const VERSION = 'v4'

/**
 * Each entry's one path, relative: the cache's version hashes the paths as given, and the archive holds
 * its members below it. Restores and saves read and write them only in directories of this run's own.
 */
export const STAGE: Readonly<Record<Holds, string>> = { image: 'setup-qemu-image', tarball: 'setup-qemu-tarball' }

/** The tarball's name in its entry. */
export const TARBALL = 'qemu.tar.gz'

/** The most an entry may hold: an image's layers for one platform, or a tarball, are far less. */
export const MAX_ENTRY_BYTES = 2 ** 30

/** Where main leaves what post saves: RUNNER_TEMP/setup-qemu-keep-XXXXXX. */
export const KEEP_PREFIX = 'setup-qemu-keep-'

const HEX64 = /^[0-9a-f]{64}$/

/** Whether this run uses the Actions cache: a hosted runner with the cache service, and cache-image on. */
export function actionsCacheWanted(useCache: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!useCache || env.RUNNER_ENVIRONMENT !== 'github-hosted') return false
  // as @actions/cache decides it, without loading the library
  return env.ACTIONS_CACHE_SERVICE_V2 ? !!env.ACTIONS_RESULTS_URL : !!env.ACTIONS_CACHE_URL
}

/**
 * The key of the entry for content a pin names: the image's digest or the tarball's SHA-256 (hex), and
 * the host arch (an image's entry holds the manifest and layers of the host's platform only).
 */
export function entryKey(holds: Holds, pin: string, nodeArch: string = process.arch): string {
  if (!HEX64.test(pin)) throw new Error(`not a SHA-256: ${pin.slice(0, 80)}`)
  return `setup-qemu-${VERSION}-${nodeArch}-${holds}-${pin}`
}

/** What main hands post so it can save the entry it missed: all of it is checked again there. */
export interface SaveState {
  key: string
  holds: Holds
  /** the image's digest or the tarball's SHA-256, hex: what the content must chain to */
  pin: string
  /** the directory main left the content in: the blobs (`sha256/<hex>`), or the tarball */
  dir: string
  timeout: number
}

/** The saved state, checked field by field: anything that writes to the log can forge it. */
export function readSaveState(raw: string, temp: string = runnerTemp()): SaveState | undefined {
  if (!raw) return undefined
  const s = JSON.parse(raw) as Record<string, unknown>
  const holds = s.holds === 'image' || s.holds === 'tarball' ? s.holds : undefined
  const ok =
    holds !== undefined &&
    typeof s.pin === 'string' &&
    HEX64.test(s.pin) &&
    // the key is what the content is, never another one
    s.key === entryKey(holds, s.pin) &&
    typeof s.dir === 'string' &&
    path.dirname(s.dir) === path.resolve(temp) &&
    /^setup-qemu-keep-[A-Za-z0-9]{6}$/.test(path.basename(s.dir)) &&
    typeof s.timeout === 'number' &&
    Number.isInteger(s.timeout) &&
    s.timeout > 0
  if (!ok) throw new Error('the saved Actions cache state is not well-formed')
  return { key: s.key as string, holds, pin: s.pin as string, dir: s.dir as string, timeout: s.timeout as number }
}
