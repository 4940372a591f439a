/**
 * Main's side of the Actions cache, for hosted runners, whose tool cache is gone when the job ends: one
 * entry a run, holding what the source's pin can check (keys.ts). The source asks for it before it
 * fetches, checks what comes back against its pin (an image's blobs by their digests, a tarball by its
 * SHA-256) and uses it only then; on a miss it keeps what it fetched for post to save.
 *
 * A restore has its own limit, shorter than `timeout`: past it the run stops waiting and fetches, and
 * the restore is abandoned. It extracts only into a directory of this run's own scratch directory, and
 * an abandoned one extracts nothing (archive.ts), so a late answer changes nothing: the job's working
 * directory and environment are never touched at all.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { State } from '../../constants.js'
import { TimeoutError, withTimeout } from '../../exec/timeout.js'
import * as log from '../../log.js'
import { runnerTemp } from '../../scratch.js'
import { withinScope, type ArchiveScope } from './archive.js'
import { KEEP_PREFIX, MAX_ENTRY_BYTES, STAGE, client, entryKey, type Holds, type SaveState } from './keys.js'

/** The restore's own limit: a minute, or half of `timeout` when that is shorter. */
export const restoreLimit = (timeout: number): number => Math.max(1, Math.min(60, Math.floor(timeout / 2)))

/** What a restore gave, still to be checked against the pin by the caller. */
export interface Restored {
  /** the directory holding what the entry holds */
  dir: string
  /** each file there, by its path below dir, with the SHA-256 (hex) of what the restore wrote */
  sha256: ReadonlyMap<string, string>
}

export class ActionsCache {
  private restoring?: Promise<Restored | undefined>
  private entry?: { key: string; holds: Holds; pin: string }
  /** the entry was looked for and is not there: post saves what this run fetches */
  private missed = false

  constructor(
    private readonly workDir: string,
    /** seconds the restore may take */
    private readonly limit: number,
    /** seconds post's save may take */
    private readonly timeout: number
  ) {}

  /**
   * Restores the entry for the content pin names, once however often it is asked; undefined when there
   * is no entry, it cannot be read, or it was refused (with a warning).
   */
  restore(holds: Holds, pin: string): Promise<Restored | undefined> {
    this.restoring ??= this.start(holds, pin)
    return this.restoring
  }

  private async start(holds: Holds, pin: string): Promise<Restored | undefined> {
    const key = entryKey(holds, pin)
    this.entry = { key, holds, pin }
    const parent = await fs.mkdtemp(path.join(this.workDir, 'actions-cache-'))
    const scope: ArchiveScope = {
      dir: path.join(parent, 'entry'),
      only: STAGE[holds],
      maxBytes: MAX_ENTRY_BYTES,
      abandoned: false,
      sha256: new Map(),
      debug: log.debug
    }
    // no timeouts of the library's own: one that ended the download after the run stopped waiting would
    // only add a warning about a restore nobody uses
    const work = client().then(async cache => withinScope(scope, async () => cache.restoreCache([STAGE[holds]], key)))
    let hit: string | undefined
    try {
      hit = await withTimeout(work, this.limit, `no answer within ${this.limit}s`)
    } catch (err) {
      // whatever the library still does, it extracts nothing now, and nowhere but in parent
      scope.abandoned = true
      void work.catch(() => undefined)
      await fs.rm(parent, { recursive: true, force: true })
      const why = err instanceof TimeoutError ? `it did not answer within ${this.limit}s` : (err as Error).message
      log.info(`the Actions cache could not be read (${why}): fetching as usual`)
      return undefined
    }
    if (scope.refused) {
      this.refuse(scope.refused)
      return undefined
    }
    if (!hit) {
      // a download that failed never reached the extraction: the entry may exist, and post's save finds out
      this.missed = !scope.started
      log.info(
        this.missed
          ? `the Actions cache has no entry ${key} yet: the post step saves one`
          : `the Actions cache entry ${key} could not be restored: fetching as usual`
      )
      return undefined
    }
    return { dir: path.join(scope.dir, STAGE[holds]), sha256: scope.sha256 ?? new Map() }
  }

  /** The restored entry did not chain to its pin: a warning, and the entry is never used or saved over. */
  refuse(problem: string): void {
    const key = this.entry?.key ?? 'for this content'
    log.warning(
      `the Actions cache entry ${key} is ignored: ${problem}. Nothing from it was used; fetching as usual. ` +
        `Delete it (gh cache delete ${key}) so that a later job can save a good one: until then every job fetches.`
    )
  }

  /** A directory for what post is to save, when the entry was missed: under RUNNER_TEMP, which outlives main. */
  async keepDir(): Promise<string | undefined> {
    if (!this.missed) return undefined
    return fs.mkdtemp(path.join(runnerTemp(), KEEP_PREFIX))
  }

  /** Hands post the directory keepDir gave, now holding what this run fetched and checked. */
  keep(dir: string): void {
    if (!this.missed || !this.entry) return
    const state: SaveState = { ...this.entry, dir, timeout: this.timeout }
    core.saveState(State.ActionsCache, JSON.stringify(state))
  }
}
