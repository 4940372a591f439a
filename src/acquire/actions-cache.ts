/**
 * The GitHub Actions cache, for hosted runners, whose tool cache is gone when the job ends. It keeps
 * what a later job needs to register without any registry, in two entries: the emulators as a tool
 * cache entry holds them, and the helper image. Each key is content-addressed (source digest or
 * checksum, host arch and emulator set; the helper's digest), so an entry never needs replacing.
 *
 * It wraps a source: before the source reaches the network, the emulators are restored into this run's
 * own directory, and the helper image into the engine. The helper's entry is small and restored beside
 * the emulators', so the engine loads it while the emulators still arrive. On a miss the post step saves
 * what the run fetched, from the tool cache entry the source filled and from the engine.
 */
import type * as ActionsCacheClient from '@actions/cache'
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { State } from '../constants.js'
import type { Docker } from '../engine/docker.js'
import { withTimeout } from '../engine/timeout.js'
import { digestOf, isPinned } from '../inputs/validate.js'
import * as log from '../log.js'
import { EMULATOR_NAMES, emulatorName, type Platform } from '../platforms.js'
import { runnerTemp } from '../scratch.js'
import { checkEntry, covers, exportEntry, findCached } from './cache.js'
import type { CachedEmulators, EmulatorSource, Emulators } from './source.js'

/** The library and its Azure client are large: loaded only on a hosted runner that needs them. */
const client = (): Promise<typeof ActionsCacheClient> => import('@actions/cache')

const VERSION = 'v2'
const HELPER_TAR = 'helper.tar'
const HELPER_META = 'helper.json'

/** What main hands post so it can save the entries it missed: all of it is checked again there. */
export interface SaveState {
  /** the emulators' entry, when this run missed it */
  emulatorsKey?: string
  /** what the tool cache entry is known by (image digest or tarball checksum) */
  sourceKey: string
  /** the emulators to save, by file name; all the entry has when undefined */
  emulators?: string[]
  /** the helper image's entry, when this run missed it */
  helperKey?: string
  helperImage?: string
  timeout: number
}

const HEX64 = /^[0-9a-f]{64}$/
const KEY = /^setup-qemu-[A-Za-z0-9._-]{1,400}$/

/**
 * Each entry's one path, relative: the cache's version hashes the paths as given, and the archive holds
 * them relative to GITHUB_WORKSPACE. With both pointed at a directory of this run's own while the
 * library works, every job stages privately and any job can restore, wherever its directories are.
 */
const STAGE = { emulators: 'setup-qemu-emulators', helper: 'setup-qemu-helper' } as const

async function staged<T>(base: string, work: (parent: string) => Promise<T>): Promise<T> {
  const parent = await fs.mkdtemp(path.join(base, 'setup-qemu-actions-cache-'))
  const cwd = process.cwd()
  const workspace = process.env.GITHUB_WORKSPACE
  try {
    process.chdir(parent)
    process.env.GITHUB_WORKSPACE = parent
    return await work(parent)
  } finally {
    process.chdir(cwd)
    if (workspace === undefined) delete process.env.GITHUB_WORKSPACE
    else process.env.GITHUB_WORKSPACE = workspace
    await fs.rm(parent, { recursive: true, force: true })
  }
}

/** Whether this run uses the Actions cache: a hosted runner with the cache service, and cache-image on. */
export function actionsCacheWanted(useCache: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!useCache || env.RUNNER_ENVIRONMENT !== 'github-hosted') return false
  // as @actions/cache decides it, without loading the library
  return env.ACTIONS_CACHE_SERVICE_V2 ? !!env.ACTIONS_RESULTS_URL : !!env.ACTIONS_CACHE_URL
}

/** Which emulators an entry holds: every one the source has, or those of the platforms named. */
export type EmulatorSet = 'all' | readonly string[]

export const emulatorSet = (requested: 'all' | readonly Platform[]): EmulatorSet =>
  requested === 'all' ? 'all' : [...new Set(requested.map(emulatorName))].sort()

export interface CacheKeys {
  emulators: string
  /** none for a helper image that is not pinned: what it holds has no fixed name */
  helper?: string
}

/** The keys: every part of them names content, so one key always holds the same thing. */
export function cacheKeys(sourceKey: string, helperImage: string, set: EmulatorSet, nodeArch: string = process.arch): CacheKeys {
  // `all` is what the table knows: a table that grows makes new entries
  const names = set === 'all' ? `all:${[...EMULATOR_NAMES].sort().join(',')}` : set.join(',')
  const tag = createHash('sha256').update(names).digest('hex').slice(0, 12)
  const helper = digestOf(helperImage)
  return {
    emulators: `setup-qemu-${VERSION}-${nodeArch}-${sourceKey}-e${tag}`,
    helper: helper ? `setup-qemu-${VERSION}-${nodeArch}-helper-${helper}` : undefined
  }
}

const unreadable = (err: Error): undefined => {
  log.warning(`the Actions cache could not be read (${err.message}): fetching as usual`)
  return undefined
}

export class ActionsCache {
  private emulators?: Promise<CachedEmulators | undefined>
  private helper?: Promise<string | undefined>
  /** the entries looked for and not there: post saves them */
  private readonly missed = { emulators: false, helper: false }

  constructor(
    readonly keys: CacheKeys,
    private readonly sourceKey: string,
    private readonly set: EmulatorSet,
    private readonly helperImage: string,
    private readonly docker: Docker,
    private readonly timeout: number,
    private readonly workDir: string
  ) {}

  /**
   * Starts both restores once, however often and by whom it is asked. The factory starts them early,
   * so they run while the host is inspected.
   */
  restore(): void {
    if (this.emulators) return
    let helperDone: (id: string | undefined) => void = () => undefined
    this.helper = new Promise(resolve => (helperDone = resolve))
    this.emulators = client()
      .then(async cache =>
        // in the scratch directory: restored emulators are renamed from there, not copied
        staged(this.workDir, async parent => {
          // each on its own: the small helper entry is in the engine while the emulators still arrive
          const helper = this.restoreHelper(cache, parent)
            .catch(unreadable)
            .then(id => (helperDone(id), id))
          const [emulators] = await Promise.all([this.restoreEmulators(cache, parent).catch(unreadable), helper])
          const state = this.saveState()
          if (state) core.saveState(State.ActionsCache, JSON.stringify(state))
          return emulators
        })
      )
      .catch((err: Error) => {
        helperDone(undefined)
        return unreadable(err)
      })
  }

  /** This run's own emulators, checked, when the Actions cache had them. */
  restoredEmulators(): Promise<CachedEmulators | undefined> {
    this.restore()
    return this.emulators as Promise<CachedEmulators | undefined>
  }

  /** The helper image's id, when the Actions cache loaded it: what Docker asks before it pulls. */
  async localCopy(ref: string): Promise<string | undefined> {
    if (ref !== this.helperImage) return undefined
    this.restore()
    return this.helper
  }

  /** Restores one entry into parent; true on a hit, false (and noted for post) on a miss. */
  private async restoreEntry(cache: typeof ActionsCacheClient, parent: string, what: keyof CacheKeys): Promise<boolean> {
    const key = this.keys[what] as string
    const hit = await withTimeout(cache.restoreCache([STAGE[what]], key), this.timeout, `no answer within ${this.timeout}s`)
    if (hit) return true
    // a failed extraction leaves part of the entry behind, and the library has warned: the key is taken
    this.missed[what] = await fs.access(path.join(parent, STAGE[what])).then(
      () => false,
      () => true
    )
    log.info(
      this.missed[what]
        ? `the Actions cache has no entry ${key} yet: the post step saves one`
        : `the Actions cache entry ${key} could not be restored: fetching as usual`
    )
    return false
  }

  private async restoreEmulators(cache: typeof ActionsCacheClient, parent: string): Promise<CachedEmulators | undefined> {
    if (!(await this.restoreEntry(cache, parent, 'emulators'))) return undefined
    // this run's own copy, out of the staging directory, checked where it is used
    const own = await fs.mkdtemp(path.join(this.workDir, 'actions-cache-'))
    await fs.rename(path.join(parent, STAGE.emulators), path.join(own, STAGE.emulators))
    const emulators = await checkEntry(path.join(own, STAGE.emulators), this.sourceKey)
    if (typeof emulators === 'string') {
      log.warning(
        `the Actions cache entry ${this.keys.emulators} is ignored: ${emulators}. Fetching as usual. It keeps its key ` +
          `until it is deleted (gh cache delete ${this.keys.emulators}) or evicted, and no job can save a good one meanwhile.`
      )
      return undefined
    }
    log.info(`restored the emulators from the Actions cache (${this.keys.emulators})`)
    return emulators
  }

  /** Loads the helper image its entry holds; its id must be the one recorded. */
  private async restoreHelper(cache: typeof ActionsCacheClient, parent: string): Promise<string | undefined> {
    if (!this.keys.helper || !(await this.restoreEntry(cache, parent, 'helper'))) return undefined
    const dir = path.join(parent, STAGE.helper)
    const meta = await fs
      .readFile(path.join(dir, HELPER_META), 'utf8')
      .then(t => JSON.parse(t) as { image?: unknown; id?: unknown })
      .catch(() => undefined)
    if (!meta || meta.image !== this.helperImage || typeof meta.id !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(meta.id)) {
      log.warning(
        `the Actions cache entry ${this.keys.helper} is ignored: its metadata names another image. Pulling it. ` +
          `Delete the entry (gh cache delete ${this.keys.helper}) so that a later job can save a good one.`
      )
      return undefined
    }
    // loading what the engine already has costs less than asking first costs a job that lacks it
    const loaded = await this.docker.loadImage(path.join(dir, HELPER_TAR)).catch((err: Error) => {
      log.warning(`the helper image in the Actions cache could not be loaded (${err.message}): pulling it`)
      return undefined
    })
    if (loaded && loaded !== meta.id) {
      log.warning(`the helper image in the Actions cache is not the one recorded (${loaded}): pulling it`)
      return undefined
    }
    if (loaded) log.info(`restored the helper image from the Actions cache (${this.keys.helper})`)
    return loaded
  }

  /** What post needs to save the entries this run missed. */
  private saveState(): SaveState | undefined {
    if (!this.missed.emulators && !this.missed.helper) return undefined
    return {
      emulatorsKey: this.missed.emulators ? this.keys.emulators : undefined,
      sourceKey: this.sourceKey,
      emulators: this.set === 'all' ? undefined : [...this.set],
      helperKey: this.missed.helper ? this.keys.helper : undefined,
      helperImage: this.missed.helper ? this.helperImage : undefined,
      timeout: this.timeout
    }
  }
}

/** A source behind the Actions cache: what it restored is used before anything is fetched. */
export class ActionsCachedSource implements EmulatorSource {
  constructor(
    private readonly inner: EmulatorSource,
    private readonly cache: ActionsCache
  ) {}

  get from(): string {
    return this.inner.from
  }

  get contentKey(): string | undefined {
    return this.inner.contentKey
  }

  cached(): Promise<CachedEmulators | undefined> {
    return this.inner.cached()
  }

  async acquire(wanted: 'all' | readonly Platform[]): Promise<Emulators> {
    const local = await this.inner.cached()
    if (local && covers(local, wanted)) return this.inner.acquire(wanted)
    const restored = await this.cache.restoredEmulators()
    return restored && covers(restored, wanted) ? restored : this.inner.acquire(wanted)
  }
}

/** The saved state, checked field by field: anything that writes to the log can forge it. */
export function readSaveState(raw: string): SaveState | undefined {
  if (!raw) return undefined
  const s = JSON.parse(raw) as Record<string, unknown>
  const key = (k: unknown): boolean => k === undefined || (typeof k === 'string' && KEY.test(k))
  const ok =
    key(s.emulatorsKey) &&
    key(s.helperKey) &&
    typeof s.sourceKey === 'string' &&
    HEX64.test(s.sourceKey) &&
    (s.emulators === undefined ||
      (Array.isArray(s.emulators) && s.emulators.every(n => typeof n === 'string' && EMULATOR_NAMES.includes(n)))) &&
    (s.helperImage === undefined || (typeof s.helperImage === 'string' && isPinned(s.helperImage))) &&
    (s.helperKey === undefined || s.helperImage !== undefined) &&
    typeof s.timeout === 'number' &&
    s.timeout > 0
  if (!ok) throw new Error('the saved Actions cache state is not well-formed')
  return s as unknown as SaveState
}

/**
 * Post: saves the entries main missed. Another job saving the same key at once is normal (the key
 * names the content, so theirs is as good): that is a debug line, not a warning.
 */
export async function saveEntry(state: SaveState, docker: Docker): Promise<void> {
  const cache = await client()
  await staged(runnerTemp(), async parent => {
    const ready: [string, string][] = []
    if (state.emulatorsKey && (await stageEmulators(state, path.join(parent, STAGE.emulators)))) {
      ready.push([STAGE.emulators, state.emulatorsKey])
    }
    if (state.helperKey && state.helperImage && (await stageHelper(state.helperImage, docker, path.join(parent, STAGE.helper)))) {
      ready.push([STAGE.helper, state.helperKey])
    }
    for (const [stage, key] of ready) {
      const id = await quietRace(() =>
        withTimeout(cache.saveCache([stage], key), state.timeout, `no answer within ${state.timeout}s`)
      )
      if (id > 0) log.info(`saved to the Actions cache as ${key}`)
    }
  })
}

/** The emulators the tool cache holds, as the entry keeps them; false when it lacks them. */
async function stageEmulators(state: SaveState, dir: string): Promise<boolean> {
  const entry = await findCached(state.sourceKey)
  const have = entry ? (await fs.readdir(entry.dir)).filter(n => EMULATOR_NAMES.includes(n)) : []
  const wanted = state.emulators
  // an entry for `all` must hold every emulator the source has
  const names = wanted ? have.filter(n => wanted.includes(n)) : entry?.complete ? have : []
  if (!entry || names.length === 0) {
    log.info('the tool cache holds none of the emulators to save to the Actions cache')
    return false
  }
  const problem = await exportEntry(entry, names, dir)
  if (problem) {
    log.warning(
      `the emulators are not saved to the Actions cache: in the tool cache, ${problem}. The next job fetches them ` +
        'again; if this repeats, check what else writes to RUNNER_TOOL_CACHE during the job.'
    )
  }
  return !problem
}

/** The helper image as the engine has it, with its id; false when the engine lacks it. */
async function stageHelper(image: string, docker: Docker, dir: string): Promise<boolean> {
  const id = await docker.imageId(image)
  if (!id) return false
  await fs.mkdir(dir)
  await docker.saveImage(id, path.join(dir, HELPER_TAR))
  await fs.writeFile(path.join(dir, HELPER_META), JSON.stringify({ image, id }))
  return true
}

/** The library's line for a lost race to save a key, which it logs as info. */
const RACE = /^Failed to save: Unable to reserve cache with key .*another job may be creating this cache/

/** Runs work with the library's race line turned into a debug line. */
async function quietRace<T>(work: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    if (!RACE.test(text)) return write(chunk, ...rest)
    log.debug(`${text.trim()} (its entry holds the same content)`)
    return true
  }) as typeof process.stdout.write
  try {
    return await work()
  } finally {
    process.stdout.write = write
  }
}
