/**
 * Source `image`: an image holding `/usr/bin/qemu-<cpu>` (tonistiigi/binfmt, or a mirror of it),
 * pulled by digest and copied out without running it.
 */
import * as fs from 'node:fs/promises'
import { digestOf, isPinned } from '../inputs/validate.js'
import type { Docker } from '../engine/docker.js'
import type { Platform } from '../platforms.js'
import { findCached, storeInCache, useCached } from './cache.js'
import { hostPlatform } from './elf.js'
import { dropForeign, emulatorsIn, keepOnlyEmulators, qemuVersion } from './emulators.js'
import type { CachedEmulators, EmulatorSource, Emulators } from './source.js'
import * as log from '../log.js'

export class ImageSource implements EmulatorSource {
  constructor(
    readonly from: string,
    private readonly docker: Docker,
    private readonly useCache: boolean,
    private readonly workDir: string
  ) {}

  get contentKey(): string | undefined {
    return digestOf(this.from)
  }

  private lookup?: Promise<CachedEmulators | undefined>

  cached(): Promise<CachedEmulators | undefined> {
    const digest = this.contentKey
    this.lookup ??= this.useCache && digest ? findCached(digest) : Promise.resolve(undefined)
    return this.lookup
  }

  async acquire(wanted: 'all' | readonly Platform[]): Promise<Emulators> {
    const host = hostPlatform()
    const pinned = isPinned(this.from)
    if (!pinned) {
      log.warning(
        `image ${this.from} is not pinned by digest: what it holds can change under you. ` + 'Pin it as name:tag@sha256:<digest>.'
      )
    }
    const cached = await this.cached()
    const snapshot = cached && (await useCached(cached, wanted, this.workDir, host))
    if (snapshot) return snapshot

    await this.docker.info()
    // the host's platform of a multi-platform image: a local copy for another one is not used
    const platform = host.platforms[0]
    // a digest never changes, so a local copy is as good as a pull; a tag may have moved
    const id = await this.docker.ensureImage(this.from, !pinned, platform)
    const key = digestOf(this.from) ?? id.replace(/^sha256:/, '')
    if (!pinned && this.useCache) {
      const byId = await findCached(key)
      const e = byId && (await useCached(byId, wanted, this.workDir, host))
      if (e) return e
    }

    const dir = await fs.mkdtemp(`${this.workDir}/image-`)
    await this.docker.copyOut(this.from, '/usr/bin', dir, platform)
    // the image is small enough to keep whole: every later request is served from one cache entry
    await keepOnlyEmulators(dir, 'all')
    await dropForeign(dir, host)
    const has = await emulatorsIn(dir)
    if (has.size === 0) {
      throw new Error(
        `image ${this.from} has no /usr/bin/qemu-<cpu> emulators for this ${host.cpu} host, so there is nothing to register. ` +
          `Use a tonistiigi/binfmt image (the default) or a mirror of one, or an image with static emulators for ${host.cpu} in /usr/bin.`
      )
    }
    const e: Emulators = { dir, archs: has, key, version: await qemuVersion(dir, has), origin: 'image', from: this.from }
    return this.useCache ? storeInCache(e, true) : e
  }
}
