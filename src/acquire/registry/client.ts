/**
 * The registry client: resolving a tag to a digest, and pulling the files an image holds for one
 * platform, everything checked from the digest down (index, the platform's manifest, its layers), with
 * an optional mirror for one registry's images. See index.ts for the whole API.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { InputError } from '../../inputs/validate.js'
import * as projectLog from '../../log.js'
import { hostPlatform } from '../../platform/host.js'
import { Authorizer } from './auth.js'
import { sha256, Store } from './content.js'
import { IntegrityError, RegistryError, shown } from './errors.js'
import { Transport } from './http.js'
import { fetchImage } from './fetch.js'
import * as m from './manifest.js'
import { DOCKER_HUB, formatReference, parseReference, type ImageRef } from './reference.js'
import { Repository } from './repository.js'
import type { PullOptions, PullResult, RegistryClientOptions, RegistryLog } from './types.js'

const MIRROR = /^(?:https?:\/\/)?((?:[a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\])(?::\d{1,5})?)((?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)\/?$/

export class RegistryClient {
  private readonly transport = new Transport()
  private readonly auth: Authorizer
  private readonly log: RegistryLog
  private readonly mirror?: { host: string; prefix: string; for: string }

  constructor(private readonly options: RegistryClientOptions) {
    this.log = options.log ?? { info: projectLog.info, debug: projectLog.debug }
    this.auth = new Authorizer(this.transport, message => this.log.debug(message))
    if (options.mirror) {
      const parts = MIRROR.exec(options.mirror.host)
      if (!parts) throw new InputError(`the mirror is not a registry host[:port][/path]: "${shown(options.mirror.host, 80)}"`)
      this.mirror = { host: parts[1].toLowerCase(), prefix: parts[2].slice(1), for: options.mirror.for ?? DOCKER_HUB }
    }
  }

  /** The digest (`sha256:…`) a reference names: its own when pinned, else the registry's for its tag. */
  async resolve(ref: string): Promise<string> {
    const r = parseReference(ref)
    return r.digest ?? this.resolveTag(r, this.deadline())
  }

  /**
   * The wanted files of the image ref for one platform, written under opts.dir. A tag is resolved at the
   * registry named (never at the mirror); content is fetched by digest from the mirror when one is set
   * for that registry, and from the registry named when the mirror fails in any way (the log says so).
   */
  async pull(ref: string, opts: PullOptions): Promise<PullResult> {
    const r = parseReference(ref)
    if (opts.offline && !r.digest)
      throw new RegistryError('unsupported', `${shown(ref, 120)} is not pinned: nothing can be taken offline`)
    const deadline = this.deadline()
    const digest = r.digest ?? (await this.resolveTag(r, deadline))
    const want = m.platformSpec(opts.platform ?? hostPlatform().platforms[0])
    await fs.mkdir(opts.dir, { recursive: true })
    const kept = opts.store ?? this.options.store
    const temp = kept ? undefined : await fs.mkdtemp(`${path.resolve(opts.dir)}.blobs-`)
    const store = new Store(kept ?? (temp as string), opts.store ? opts.checked : undefined)
    try {
      await store.prepare()
      let mirrorFailure: string | undefined
      if (opts.offline) {
        const repo = this.repository(r.registry, r.host, r.repository)
        return await fetchImage({ repo, digest, want, opts, store, deadline, fetched: false, log: this.log, blobs: [] }, 'source')
      }
      if (this.mirror && r.registry === this.mirror.for) {
        const { host, prefix } = this.mirror
        const repo = this.repository(host, host, prefix ? `${prefix}/${r.repository}` : r.repository)
        // half the time left at most, so the registry named can still be asked
        const until = Date.now() + (deadline - Date.now()) / 2
        this.log.debug(`fetching ${formatReference({ ...r, digest })} from the mirror ${host}`)
        try {
          const pull = { repo, digest, want, opts, store, deadline: until, fetched: false, log: this.log, blobs: [] }
          return await fetchImage(pull, 'mirror')
        } catch (err) {
          mirrorFailure = err instanceof IntegrityError ? `it served other content: ${err.message}` : (err as Error).message
          this.log.info(`the mirror ${host} could not be used (${mirrorFailure}); fetching from ${r.registry} instead`)
        }
      }
      const repo = this.repository(r.registry, r.host, r.repository)
      const done = await fetchImage(
        { repo, digest, want, opts, store, deadline, fetched: false, log: this.log, blobs: [] },
        'source'
      )
      return { ...done, mirrorFailure }
    } finally {
      if (temp) await fs.rm(temp, { recursive: true, force: true })
    }
  }

  /** Closes the connections kept open between requests. */
  close(): void {
    this.transport.close()
  }

  private deadline(): number {
    return Date.now() + this.options.timeout * 1000
  }

  private repository(registry: string, host: string, repository: string): Repository {
    return new Repository(this.transport, this.auth, { registry, host, repository }, this.options.retries ?? {})
  }

  private async resolveTag(r: ImageRef, deadline: number): Promise<string> {
    const repo = this.repository(r.registry, r.host, r.repository)
    const tag = r.tag ?? 'latest'
    try {
      const d = await repo.headDigest(tag, deadline)
      if (d) return d
    } catch (err) {
      // a registry that does not answer HEAD is asked for the manifest itself
      if (!(err instanceof RegistryError) || err.kind !== 'refused') throw err
    }
    return sha256((await repo.manifest(tag, deadline)).body)
  }
}
