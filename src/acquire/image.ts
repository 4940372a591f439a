/**
 * Source `image`: an image holding `/usr/bin/qemu-<cpu>` (tonistiigi/binfmt, or a mirror of it), fetched
 * by digest over the registry's HTTP API and checked from the digest down (image-pull.ts). A tag is
 * resolved to its digest once a run, and from then on the image is fetched and cached by that digest.
 * When the registry cannot be used that way (it refuses, or wants what this client does not do), the
 * engine pulls the same digest and the emulators are copied out of it without running it.
 */
import * as fs from 'node:fs/promises'
import { DEFAULT_IMAGE } from '../constants.js'
import { digestOf } from '../inputs/validate.js'
import { oneLine } from '../engine/docker.js'
import type { Engine } from '../engine/engine.js'
import type { Platform } from '../platform/platforms.js'
import { findCached, useCached } from './tool-cache/read.js'
import { hostPlatform } from '../platform/host.js'
import { FetchingSource, type FetchingOptions, type Fetched } from './fetching.js'
import { pullEmulators, type ImageRegistry } from './image-pull.js'
import { IntegrityError, RegistryClient, RegistryError, parseReference } from './registry/index.js'
import { DOCKER_HUB } from './registry/reference.js'
import type { Emulators, SourceEntry } from './source.js'
import * as log from '../log.js'

export interface ImageOptions extends FetchingOptions {
  /** a registry serving Docker Hub's images (host[:port][/prefix]) */
  mirror?: string
  /** the registry client to use (tests give their own) */
  registry?: () => ImageRegistry
}

/** Source `image`, as src/acquire/index.ts lists it. */
export const IMAGE: SourceEntry = {
  create: c =>
    new ImageSource(c.inputs.image, c.engine, {
      useCache: c.inputs.cacheImage,
      workDir: c.workDir,
      timeout: c.inputs.timeout,
      mirror: c.inputs.registryMirror || undefined,
      actions: c.actions
    }),
  pinInstead: `pin image: ${DEFAULT_IMAGE}, this action's default (or leave image unset)`
}

export class ImageSource extends FetchingSource<ImageOptions> {
  private pinning?: Promise<string | undefined>
  private resolved?: string

  constructor(
    readonly from: string,
    private readonly engine: Engine,
    opts: ImageOptions
  ) {
    super(opts, 'image')
  }

  get contentKey(): string | undefined {
    return digestOf(this.from) ?? this.resolved
  }

  private registry(): ImageRegistry {
    return (
      this.opts.registry?.() ??
      new RegistryClient({ timeout: this.opts.timeout, mirror: this.opts.mirror ? { host: this.opts.mirror } : undefined })
    )
  }

  /** The digest (hex) the image is fetched by: its pin, or what its tag names now, resolved once a run. */
  private pin(): Promise<string | undefined> {
    this.pinning ??= this.resolvePin()
    return this.pinning
  }

  private async resolvePin(): Promise<string | undefined> {
    const pinned = digestOf(this.from)
    if (pinned) return pinned
    const registry = this.registry()
    try {
      const digest = await registry.resolve(this.from)
      this.resolved = digest.slice('sha256:'.length)
      log.warning(
        `image ${this.from} is not pinned by digest, and a tag can move: it names ${digest} now, which this run uses. ` +
          `To keep exactly this content, pin it: image: ${this.from}@${digest}`
      )
      return this.resolved
    } catch (err) {
      log.warning(
        `image ${this.from} is not pinned by digest, and its tag could not be resolved over the registry API ` +
          `(${(err as Error).message}): the engine pulls it, and what it holds can change under you. ` +
          'Pin it as image: name:tag@sha256:<digest>.'
      )
      return undefined
    } finally {
      registry.close()
    }
  }

  protected cacheKey(): Promise<string | undefined> {
    return this.pin()
  }

  protected async fetch(wanted: 'all' | readonly Platform[]): Promise<Fetched | { ready: Emulators }> {
    const pin = await this.pin()
    // the image is small enough to keep whole, so every later request is served from one tool cache
    // entry; but a hosted runner's tool cache ends with the job: there only what this run asked for is
    // taken out of the image and kept
    const keep = this.opts.actions && wanted !== 'all' ? wanted : 'all'
    return pin ? this.fromRegistry(pin, keep) : this.fromEngine(wanted)
  }

  protected noEmulators(host: Platform): string {
    return (
      `image ${this.from} has no /usr/bin/qemu-<cpu> emulators for this ${host.cpu} host, so there is nothing to register. ` +
      `Use a tonistiigi/binfmt image (the default) or a mirror of one, or an image with static emulators for ${host.cpu} in /usr/bin.`
    )
  }

  /** The emulators over the registry API, by the pinned digest; the engine's pull when the registry cannot be used so. */
  private async fromRegistry(pin: string, keep: 'all' | readonly Platform[]): Promise<Fetched | { ready: Emulators }> {
    const ref = digestOf(this.from) ? this.from : `${this.from}@sha256:${pin}`
    // a warm hosted job takes the Actions cache's entry and asks no registry: the engine need not be asked either
    const restored = await this.opts.actions?.restore('image', pin)
    const through = restored ? [] : await this.engineMirrors(ref)
    if (through.length > 0) {
      log.info(
        `the Docker engine pulls Docker Hub's images through its registry mirrors (${through.join(', ')}), so it pulls ` +
          `${ref} instead of this action going to Docker Hub; set registry-mirror to fetch it from a mirror yourself`
      )
      return this.fromEngine('all', pin)
    }
    const registry = this.registry()
    try {
      const pulled = await pullEmulators(ref, pin, registry, this.opts.workDir, this.opts.actions, keep)
      const origin = pulled.via === 'Actions cache' ? 'Actions cache' : 'image'
      return { dir: pulled.dir, key: pin, origin, complete: keep === 'all' }
    } catch (err) {
      if (err instanceof IntegrityError) {
        throw new Error(
          `image ${this.from} did not match its pin: ${err.message}. Nothing from it was used or cached. The registry, or ` +
            'something between it and this runner (a proxy, a mirror), served other content than the digest names: ' +
            'check the digest in `image`, and what serves that registry here.'
        )
      }
      if (!(err instanceof RegistryError)) throw err
      log.info(`${this.from} could not be fetched over the registry API (${err.message}): the Docker engine pulls it instead`)
      return this.fromEngine('all', pin)
    } finally {
      registry.close()
    }
  }

  /**
   * The registry mirrors the engine pulls Docker Hub's images through (its `registry-mirrors`), when ref is
   * on Docker Hub and no registry-mirror is given: where a runner's engine is set up so, Docker Hub itself
   * may be out of reach or rate-limited. None when there is no engine, or it says nothing usable.
   */
  private async engineMirrors(ref: string): Promise<string[]> {
    if (this.opts.mirror || parseReference(ref).registry !== DOCKER_HUB) return []
    try {
      const r = await this.engine.call(['info', '--format', '{{json .RegistryConfig.Mirrors}}'])
      const said: unknown = r.exitCode === 0 ? JSON.parse(r.stdout.trim() || 'null') : null
      return Array.isArray(said)
        ? said
            .filter((m): m is string => typeof m === 'string')
            .map(m => oneLine(m))
            .slice(0, 3)
        : []
    } catch {
      return []
    }
  }

  /** The engine pulls the image (by digest, when there is one) and the emulators are copied out of it. */
  private async fromEngine(wanted: 'all' | readonly Platform[], pin?: string): Promise<Fetched | { ready: Emulators }> {
    const host = hostPlatform()
    const ref = pin && !digestOf(this.from) ? `${this.from}@sha256:${pin}` : this.from
    await this.engine.info()
    // the host's platform of a multi-platform image: a local copy for another one is not used
    const platform = host.platforms[0]
    // a digest never changes, so a local copy is as good as a pull; a tag may have moved
    const id = await this.engine.ensureImage(ref, !pin, platform)
    const key = pin ?? id.replace(/^sha256:/, '')
    if (!pin && this.opts.useCache) {
      const byId = await findCached(key)
      const ready = byId && (await useCached(byId, wanted, this.opts.workDir, host))
      if (ready) return { ready }
    }
    const dir = await fs.mkdtemp(`${this.opts.workDir}/image-`)
    await this.engine.copyOut(ref, '/usr/bin', dir, platform)
    return { dir, key, origin: 'image', complete: true }
  }
}
