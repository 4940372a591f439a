/**
 * The GitHub Actions cache, for hosted runners, whose tool cache is gone when the job ends. It keeps
 * what a later job needs to register without any registry: the emulators as a tool cache entry holds
 * them, and the helper image. The key is content-addressed (source digest or checksum, host arch, the
 * emulator set, the helper digest), so an entry never needs replacing.
 *
 * It wraps a source: before the source reaches the network, the entry is restored into this run's own
 * directory, and the helper image into the engine. On a miss the post step saves what the run fetched,
 * from the tool cache entry the source filled.
 */
import type * as ActionsCacheClient from '@actions/cache'
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { State } from '../constants.js'
import type { Docker } from '../engine/docker.js'
import { withTimeout } from '../engine/timeout.js'
import { digestOf, isPinned } from '../inputs/validate.js'
import * as log from '../log.js'
import { PLATFORMS, emulatorName, type Platform } from '../platforms.js'
import { checkEntry, covers, exportEntry, findCached } from './cache.js'
import type { CachedEmulators, EmulatorSource, Emulators } from './source.js'

/** The library and its Azure client are large: loaded only on a hosted runner that needs them. */
const client = (): Promise<typeof ActionsCacheClient> => import('@actions/cache')

const VERSION = 'v1'
const HELPER_TAR = 'helper.tar'
const HELPER_META = 'helper.json'
const EMULATORS = 'emulators'

/** What main hands post so it can save: all of it is checked again there. */
export interface SaveState {
  key: string
  /** what the tool cache entry is known by (image digest or tarball checksum) */
  sourceKey: string
  /** the emulators to save, by file name; all the entry has when undefined */
  emulators?: string[]
  helperImage?: string
  timeout: number
}

const HEX64 = /^[0-9a-f]{64}$/
const KEY = /^setup-qemu-[A-Za-z0-9._-]{1,400}$/
const EMULATOR_NAMES = PLATFORMS.map(emulatorName)

/**
 * The entry's one path, relative: the cache's version hashes the paths as given, and the archive holds
 * them relative to GITHUB_WORKSPACE. With both pointed at a directory of this run's own while the
 * library works, every job stages privately and any job can restore, wherever its directories are.
 */
const STAGE = 'setup-qemu'

async function staged<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const parent = await fs.mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'setup-qemu-actions-cache-'))
  const cwd = process.cwd()
  const workspace = process.env.GITHUB_WORKSPACE
  try {
    process.chdir(parent)
    process.env.GITHUB_WORKSPACE = parent
    return await work(path.join(parent, STAGE))
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

/** The key: every part of it names content, so one key always holds the same thing. */
export function cacheKey(
  sourceKey: string,
  helperImage: string | undefined,
  set: EmulatorSet,
  nodeArch: string = process.arch
): string {
  // `all` is what the table knows: a table that grows makes new entries
  const names = set === 'all' ? `all:${PLATFORMS.map(emulatorName).sort().join(',')}` : set.join(',')
  const tag = createHash('sha256').update(names).digest('hex').slice(0, 12)
  const helper = (helperImage && digestOf(helperImage)) || 'none'
  return `setup-qemu-${VERSION}-${nodeArch}-${sourceKey}-e${tag}-h${helper}`
}

interface Restored {
  /** this run's own emulators, checked */
  emulators: Emulators
  /** the helper image's id in the engine, when the entry brought it */
  helperId?: string
}

export class ActionsCache {
  private restoring?: Promise<Restored | undefined>
  /** set when the entry was looked for and not there: post saves it */
  private missed = false

  constructor(
    readonly key: string,
    private readonly sourceKey: string,
    private readonly set: EmulatorSet,
    private readonly helperImage: string,
    private readonly docker: Docker,
    private readonly timeout: number,
    private readonly workDir: string
  ) {}

  /**
   * Restores the entry once, however often and by whom it is asked (the source, the helper's pull). The
   * factory starts it early, so it runs while the host is inspected.
   */
  restore(): Promise<Restored | undefined> {
    this.restoring ??= this.restoreOnce().catch(err => {
      log.warning(`the Actions cache could not be read (${(err as Error).message}): fetching as usual`)
      return undefined
    })
    return this.restoring
  }

  /** The helper image's id, when the Actions cache loaded it: what Docker asks before it pulls. */
  async localCopy(ref: string): Promise<string | undefined> {
    return ref === this.helperImage ? (await this.restore())?.helperId : undefined
  }

  private async restoreOnce(): Promise<Restored | undefined> {
    const cache = await client()
    return staged(async dir => {
      const hit = await withTimeout(cache.restoreCache([STAGE], this.key), this.timeout, `no answer within ${this.timeout}s`)
      if (!hit) {
        // a failed extraction leaves part of the entry behind, and the library has warned: the key is taken
        this.missed = await fs.access(dir).then(
          () => false,
          () => true
        )
        log.info(
          this.missed
            ? `the Actions cache has no entry ${this.key} yet: the post step saves one`
            : `the Actions cache entry ${this.key} could not be restored: fetching as usual`
        )
        return undefined
      }
      // this run's own copy, out of the staging directory, checked where it is used
      const own = await fs.mkdtemp(path.join(this.workDir, 'actions-cache-'))
      await fs.rename(path.join(dir, EMULATORS), path.join(own, EMULATORS))
      // the engine loads the helper while the emulators are checked
      const [emulators, helperId] = await Promise.all([
        checkEntry(path.join(own, EMULATORS), this.sourceKey),
        this.loadHelper(dir)
      ])
      if (typeof emulators === 'string') {
        log.warning(`the Actions cache entry ${this.key} is ignored: ${emulators}. Fetching as usual.`)
        return undefined
      }
      log.info(
        `restored from the Actions cache (${this.key}): the emulators${helperId ? ' and the helper image' : ''}, no registry needed`
      )
      return { emulators, helperId }
    })
  }

  /** Loads the helper image the entry holds, when the engine lacks it; its id must be the one recorded. */
  private async loadHelper(dir: string): Promise<string | undefined> {
    const meta = await fs
      .readFile(path.join(dir, HELPER_META), 'utf8')
      .then(t => JSON.parse(t) as { image?: unknown; id?: unknown })
      .catch(() => undefined)
    if (!meta || meta.image !== this.helperImage || typeof meta.id !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(meta.id)) {
      return undefined
    }
    const have = await this.docker.imageId(meta.id)
    if (have) return have
    const loaded = await this.docker.loadImage(path.join(dir, HELPER_TAR)).catch((err: Error) => {
      log.warning(`the helper image in the Actions cache could not be loaded (${err.message}): pulling it`)
      return undefined
    })
    if (loaded && loaded !== meta.id) {
      log.warning(`the helper image in the Actions cache is not the one recorded (${loaded}): pulling it`)
      return undefined
    }
    return loaded
  }

  /** What post needs to save the entry, when this run missed it. */
  saveState(): SaveState | undefined {
    if (!this.missed) return undefined
    return {
      key: this.key,
      sourceKey: this.sourceKey,
      emulators: this.set === 'all' ? undefined : [...this.set],
      helperImage: isPinned(this.helperImage) ? this.helperImage : undefined,
      timeout: this.timeout
    }
  }
}

/** A source behind the Actions cache: restored from it before fetching, recorded for post on a miss. */
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
    const restored = (await this.cache.restore())?.emulators
    if (restored && (wanted === 'all' ? restored.archs.size > 0 : wanted.every(p => restored.archs.has(p.arch)))) {
      return restored
    }
    const e = await this.inner.acquire(wanted)
    const state = this.cache.saveState()
    if (state) core.saveState(State.ActionsCache, JSON.stringify(state))
    return e
  }
}

/** The saved state, checked field by field: anything that writes to the log can forge it. */
export function readSaveState(raw: string): SaveState | undefined {
  if (!raw) return undefined
  const s = JSON.parse(raw) as Record<string, unknown>
  const ok =
    typeof s.key === 'string' &&
    KEY.test(s.key) &&
    typeof s.sourceKey === 'string' &&
    HEX64.test(s.sourceKey) &&
    (s.emulators === undefined ||
      (Array.isArray(s.emulators) && s.emulators.every(n => typeof n === 'string' && EMULATOR_NAMES.includes(n)))) &&
    (s.helperImage === undefined || (typeof s.helperImage === 'string' && isPinned(s.helperImage))) &&
    typeof s.timeout === 'number' &&
    s.timeout > 0
  if (!ok) throw new Error('the saved Actions cache state is not well-formed')
  return s as unknown as SaveState
}

/**
 * Post: saves what main fetched. Another job saving the same key at once is normal (the key names the
 * content, so theirs is as good): that is a debug line, not a warning.
 */
export async function saveEntry(state: SaveState, docker: Docker): Promise<void> {
  const cache = await client()
  await staged(async dir => {
    const entry = await findCached(state.sourceKey)
    const have = entry ? (await fs.readdir(entry.dir)).filter(n => EMULATOR_NAMES.includes(n)) : []
    const wanted = state.emulators
    // an entry for `all` must hold every emulator the source has
    const names = wanted ? have.filter(n => wanted.includes(n)) : entry?.complete ? have : []
    if (!entry || names.length === 0 || !(await exportEntry(entry, names, path.join(dir, EMULATORS)))) {
      log.info('the tool cache holds none of the emulators to save to the Actions cache')
      return
    }
    if (state.helperImage) {
      const id = await docker.imageId(state.helperImage)
      if (id) {
        await docker.saveImage(id, path.join(dir, HELPER_TAR))
        await fs.writeFile(path.join(dir, HELPER_META), JSON.stringify({ image: state.helperImage, id }))
      }
    }
    const id = await quietRace(() =>
      withTimeout(cache.saveCache([STAGE], state.key), state.timeout, `no answer within ${state.timeout}s`)
    )
    if (id > 0) log.info(`saved to the Actions cache as ${state.key}`)
  })
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
