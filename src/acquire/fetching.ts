/**
 * What every source that fetches does around its fetch (after setup-node's base distribution): the tool
 * cache is looked up first, and on a hosted runner a miss starts the Actions cache restore; an entry that
 * covers the request gives this run its own checked copy. Otherwise the source fetches, and what it got
 * is cut down to the emulators that run on this host, checked to hold one, and stored in the tool cache
 * while the run goes on with its own copy.
 * A source extending it keeps only its `fetch`.
 */
import type { Platform } from '../platform/platforms.js'
import type { Holds } from './actions-cache/keys.js'
import type { ActionsCache } from './actions-cache/restore.js'
import { findCached, useCached } from './tool-cache/read.js'
import { keepInCache } from './tool-cache/publish.js'
import { hostPlatform } from '../platform/host.js'
import { dropForeign, emulatorsIn, keepOnlyEmulators, qemuVersion } from './emulators.js'
import type { CachedEmulators, EmulatorSource, Emulators } from './source.js'

export interface FetchingOptions {
  /** keep and look for the emulators in the tool cache */
  useCache: boolean
  /** this run's own directory */
  workDir: string
  /** seconds for each network operation */
  timeout: number
  /** on a hosted runner: where what the source fetches may be restored from, and is saved to */
  actions?: ActionsCache
}

/** What a fetch got, before its files are checked. */
export interface Fetched {
  /** a new directory under workDir holding the emulators (and maybe more) */
  dir: string
  /** what the content is known by: names the cache entry and the interpreter path */
  key: string
  origin: Emulators['origin']
  /** dir holds every emulator the source has, so the cache entry can answer `all` */
  complete: boolean
}

export abstract class FetchingSource<O extends FetchingOptions = FetchingOptions> implements EmulatorSource {
  abstract readonly from: string
  abstract readonly contentKey: string | undefined
  private lookup?: Promise<CachedEmulators | undefined>

  constructor(
    protected readonly opts: O,
    /** what the source's Actions cache entry holds */
    private readonly holds: Holds
  ) {}

  /** The key the caches know the content by, once it is known; undefined when it is not (yet). */
  protected abstract cacheKey(): Promise<string | undefined>

  /**
   * The wanted emulators (more is fine) in a new directory under workDir; or, when the fetch found the
   * tool cache could serve after all (a tag's entry, once the tag is resolved), this run's copy of them.
   */
  protected abstract fetch(
    wanted: 'all' | readonly Platform[],
    cached: CachedEmulators | undefined
  ): Promise<Fetched | { ready: Emulators }>

  /** The error for content that holds no emulator that runs on host. */
  protected abstract noEmulators(host: Platform): string

  cached(): Promise<CachedEmulators | undefined> {
    this.lookup ??= this.cacheKey().then(async key => {
      if (!key) return undefined
      const found = this.opts.useCache ? await findCached(key) : undefined
      // a hosted runner's tool cache starts empty: the Actions cache is read meanwhile
      if (!found?.complete) void this.opts.actions?.restore(this.holds, key).catch(() => undefined)
      return found
    })
    return this.lookup
  }

  async acquire(wanted: 'all' | readonly Platform[]): Promise<Emulators> {
    const host = hostPlatform()
    const cached = await this.cached()
    const snapshot = cached && (await useCached(cached, wanted, this.opts.workDir, host))
    if (snapshot) return snapshot

    const got = await this.fetch(wanted, cached)
    if ('ready' in got) return got.ready
    const dir = got.dir
    await keepOnlyEmulators(dir, 'all')
    await dropForeign(dir, host)
    const has = await emulatorsIn(dir)
    if (has.size === 0) throw new Error(this.noEmulators(host))
    const e: Emulators = {
      dir,
      archs: has,
      key: got.key,
      version: await qemuVersion(dir, has),
      origin: got.origin,
      from: this.from
    }
    if (this.opts.useCache) e.stored = keepInCache(e, got.complete)
    return e
  }
}
