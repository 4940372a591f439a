/**
 * Source `download`: a release tarball of static emulators, fetched through the tool cache and checked
 * against a pinned SHA-256 before anything is extracted, cached or run. On a hosted runner the Actions
 * cache may hold the tarball: what it restores goes through the same check before anything else.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { runCommand } from '../exec/command.js'
import { withTimeout } from '../exec/timeout.js'
import { InputError } from '../inputs/validate.js'
import { PLATFORMS, type Platform } from '../platform/platforms.js'
import type { ActionsCache } from './actions-cache/restore.js'
import { TARBALL } from './actions-cache/keys.js'
import { toolCache } from './tool-cache/entry.js'
import { selectMembers } from './emulators.js'
import { FetchingSource, type Fetched } from './fetching.js'
import { sha256File } from './hash.js'
import { maskUrlSecrets, redactUrl } from './redact.js'
import { DEFAULT_URL, DEFAULT_VERSION, expandUrl, knownChecksum } from './releases.js'
import { tarballArch } from '../platform/arch.js'
import type { CachedEmulators, SourceEntry } from './source.js'
import * as log from '../log.js'

export interface DownloadTarget {
  url: string
  sha256: string
}

/**
 * Which URL and checksum to use. Refuses, before anything runs, every case where what would be
 * executed cannot be checked against a pinned checksum.
 */
export function resolveDownload(urlInput: string, sha256Input: string, nodeArch: string): DownloadTarget {
  const arch = tarballArch(nodeArch)
  const url = expandUrl(urlInput || DEFAULT_URL, DEFAULT_VERSION, arch)
  if (sha256Input) return { url, sha256: sha256Input }
  if (urlInput) {
    throw new InputError(
      `download-url is set but download-sha256 is not: a custom tarball must be pinned by its checksum. ` +
        'Give download-sha256 (sha256sum of the tarball), or use source: image.'
    )
  }
  const known = knownChecksum(DEFAULT_VERSION, arch)
  if (!known) {
    throw new InputError(
      `no pinned checksum is known for the QEMU ${DEFAULT_VERSION} tarball on ${arch} hosts, and nothing ` +
        'unverified is run. Give download-sha256 (sha256sum of the tarball), or use source: image.'
    )
  }
  return { url, sha256: known }
}

export { sha256File }

/** Source `download`, as src/acquire/index.ts lists it. */
export const DOWNLOAD: SourceEntry = {
  create: c =>
    new DownloadSource(
      resolveDownload(c.inputs.downloadUrl, c.inputs.downloadSha256, process.arch),
      c.inputs.cacheImage,
      c.workDir,
      c.inputs.timeout,
      c.actions
    ),
  pinInstead: `leave download-url and download-sha256 empty, for the QEMU ${DEFAULT_VERSION} tarball this action pins`
}

export function checkChecksum(actual: string, expected: string, url: string): void {
  if (actual.toLowerCase() !== expected.toLowerCase()) {
    throw new Error(
      `checksum mismatch for ${url}: expected sha256 ${expected}, got ${actual}. ` +
        'Nothing was cached or registered. If the tarball changed on purpose, pin the new checksum in download-sha256.'
    )
  }
}

export class DownloadSource extends FetchingSource {
  /** the URL as it may be stored or shown; target.url (credentials and all) is only downloaded from */
  readonly from: string

  constructor(
    private readonly target: DownloadTarget,
    useCache: boolean,
    workDir: string,
    timeout: number,
    /** on a hosted runner: where the tarball may be restored from, and is saved to */
    actions?: ActionsCache
  ) {
    super({ useCache, workDir, timeout, actions }, 'tarball')
    this.from = redactUrl(target.url)
    maskUrlSecrets(target.url)
  }

  get contentKey(): string {
    return this.target.sha256
  }

  protected cacheKey(): Promise<string> {
    return Promise.resolve(this.target.sha256)
  }

  protected async fetch(wanted: 'all' | readonly Platform[], cached: CachedEmulators | undefined): Promise<Fetched> {
    const file = (await this.restored()) ?? (await this.fetched())

    // extract only what is asked for (and what the cache already had, so the cache only grows)
    const listing = await runCommand('tar', ['-tzf', file], { timeout: 120 })
    if (listing.exitCode !== 0) {
      throw new Error(
        `${this.from} is not a .tar.gz (${listing.stderr.trim()}), though it matched its checksum: point download-url ` +
          'and download-sha256 at a release tarball of flat qemu-<cpu> files.'
      )
    }
    const keep = wanted === 'all' ? 'all' : PLATFORMS.filter(p => wanted.includes(p) || cached?.archs.has(p.arch))
    const members = selectMembers(listing.stdout.split('\n'), keep)
    if (members.length === 0) {
      throw new Error(
        `${this.from} holds no qemu-<cpu> emulator for the platforms asked for: use a tarball that has them, or ask ` +
          'only for platforms it has.'
      )
    }
    // not tc.extractTar: it puts `-C dir` after the flags, and GNU tar applies -C only to the member
    // names that follow it, so naming members there would extract them into the working directory
    const dir = await fs.mkdtemp(path.join(this.opts.workDir, 'download-'))
    const extracted = await runCommand('tar', ['-xzf', file, '-C', dir, '--no-same-owner', '--', ...members], { timeout: 300 })
    if (extracted.exitCode !== 0) {
      throw new Error(
        `could not extract ${this.from} (${extracted.stderr.trim()}). It matched its checksum, so it is the file ` +
          'download-sha256 names: check that tarball (tar -tzf), and that RUNNER_TEMP has room.'
      )
    }
    await fs.rm(file, { force: true })
    return { dir, key: this.target.sha256, origin: 'download', complete: wanted === 'all' }
  }

  protected noEmulators(host: Platform): string {
    return (
      `${this.from} holds no qemu-<cpu> emulator that runs on this ${host.cpu} host: use the tarball for this ` +
      "runner's arch ({arch} in download-url)."
    )
  }

  /** The tarball from the Actions cache, if it holds one with the pinned SHA-256; the entry is refused otherwise. */
  private async restored(): Promise<string | undefined> {
    const restored = await this.opts.actions?.restore('tarball', this.target.sha256)
    if (!restored) return undefined
    const file = path.join(restored.dir, TARBALL)
    // hashed as the restore wrote it
    const got = restored.sha256.get(TARBALL)
    if (got !== this.target.sha256) {
      await fs.rm(restored.dir, { recursive: true, force: true })
      this.opts.actions?.refuse(
        got ? `its tarball's SHA-256 is ${got}, not the pinned ${this.target.sha256}` : 'it holds no tarball'
      )
      return undefined
    }
    log.info(`restored the tarball from the Actions cache: sha256 ${this.target.sha256} matches`)
    return file
  }

  /** The tarball downloaded and checked; kept for post to save when the Actions cache lacked it. */
  private async fetched(): Promise<string> {
    const file = await this.download()
    checkChecksum(await sha256File(file), this.target.sha256, this.from)
    log.info(`sha256 ${this.target.sha256} matches`)
    const keep = await this.opts.actions?.keepDir()
    if (keep) {
      await fs.copyFile(file, path.join(keep, TARBALL))
      this.opts.actions?.keep(keep)
    }
    return file
  }

  private async download(): Promise<string> {
    log.info(`downloading ${this.from}`)
    try {
      return await withTimeout(
        (await toolCache()).downloadTool(this.target.url, path.join(this.opts.workDir, `qemu-${Date.now()}.tar.gz`)),
        this.opts.timeout,
        `downloading ${this.from} did not finish within ${this.opts.timeout}s. ` +
          'Check that the runner can reach it, raise `timeout`, or use a mirror in download-url.'
      )
    } catch (err) {
      const status = (err as { httpStatusCode?: number }).httpStatusCode
      if (status) {
        throw new Error(`downloading ${this.from} failed with HTTP ${status}. Check download-url (or its mirror).`)
      }
      throw err
    }
  }
}
