/**
 * Stage 3: getting the emulators. A source is one file implementing this interface (one that fetches
 * extends FetchingSource, fetching.ts, and keeps only its fetch) and its line in SOURCES (index.ts);
 * everything after (register, verify, report, post) works on the Emulators it returns and does not know
 * where they came from.
 */
import type { Engine } from '../engine/engine.js'
import type { Platform } from '../platform/platforms.js'
import type { ActionsCache } from './actions-cache/restore.js'

export interface Emulators {
  /**
   * directory holding `qemu-<cpu>` files: from acquire(), this run's own (registered from, bind-mounted
   * into the helper); from cached(), the shared tool cache entry, for planning only
   */
  dir: string
  /** arch ids of the platforms there is an emulator for in dir (from a cache hit, only the wanted ones) */
  archs: ReadonlySet<string>
  /** what the content is known by (image digest, tarball checksum): names the cache entry and the interpreter path */
  key: string
  /** QEMU's version, where the emulators say it */
  version?: string
  /**
   * where they came from this time, for the log and summary: 'tool cache', 'Actions cache', or the
   * source's own word ('image', 'download')
   */
  origin: string
  /** the image reference or URL, without credentials, query or fragment (it is logged and shown) */
  from: string
  /**
   * the copy for later runs, written to the tool cache while the run goes on: settles (never rejects)
   * with what logs how it went; wait for it before dir is removed
   */
  stored?: Promise<() => void>
}

export interface EmulatorSource {
  readonly from: string
  /** what the content is known by (a pinned digest, a checksum, a tag's digest once resolved), if anything */
  readonly contentKey?: string
  /**
   * What the tool cache already holds for this source, without the engine (a tag is resolved to its
   * digest first, over the registry API; on a hosted runner, a miss starts the Actions cache restore).
   * Cheap: it checks no file's content, so register only from what acquire() returns. Looked up once, on
   * the first call; planning and acquire() share the answer.
   */
  cached(): Promise<CachedEmulators | undefined>
  /**
   * Gets at least the wanted emulators (every one the source has, for `all`) into this run's own
   * directory, each checked to be an executable for this host.
   */
  acquire(wanted: 'all' | readonly Platform[]): Promise<Emulators>
}

export interface CachedEmulators extends Emulators {
  /** the entry holds every emulator the source has (so it can answer `all`) */
  complete: boolean
}

/** What a source may read of the inputs, each checked by readInputs. */
export interface SourceInputs {
  image: string
  /** empty when not set */
  registryMirror: string
  downloadUrl: string
  downloadSha256: string
  cacheImage: boolean
  timeout: number
}

/** What a source is made from. */
export interface SourceContext {
  inputs: SourceInputs
  engine: Engine
  /** this run's own directory */
  workDir: string
  /** on a hosted runner: where what the source fetches may be restored from, and is saved to */
  actions?: ActionsCache
}

/** One kind of source, as src/acquire/index.ts lists it. */
export interface SourceEntry {
  /** the source, its inputs checked (an InputError for what cannot be used) */
  create(c: SourceContext): EmulatorSource
  /** what to use instead of emulators known to break builds: the ones this action pins for this source */
  pinInstead: string
}
