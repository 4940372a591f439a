/**
 * One repository on one registry host: authenticated requests, each operation retried while it fails
 * for a while (a reset, a 5xx, a 429) within the attempts and the time the caller gives, on the
 * engine's retry policy (exec/retry.ts). Everything fetched by digest is checked against it here.
 */
import { PermanentError, withRetries } from '../../exec/retry.js'
import { IntegrityError, RegistryError, statusError } from './errors.js'
import { checkBytes, saveChecked, type Expected } from './content.js'
import { discard, header, readBody, type Request, type Response, type Transport } from './http.js'
import { DIGEST, MANIFEST_ACCEPT } from './manifest.js'
import type { Authorizer, Target } from './auth.js'

/** a manifest or index larger than the registry's own limit is not one */
export const MAX_MANIFEST = 4 * 1024 * 1024

export interface RetryPolicy {
  /** attempts per operation, the first included */
  attempts?: number
  /** seconds before the second attempt, doubled before each later one */
  firstDelay?: number
}

/** Carries an error that another attempt cannot fix through the retry loop unchanged. */
class Final extends PermanentError {
  constructor(readonly inner: Error) {
    super(inner.message)
  }
}

export interface Fetched {
  body: Buffer
  contentType?: string
}

export class Repository {
  constructor(
    private readonly transport: Transport,
    private readonly auth: Authorizer,
    readonly target: Target,
    private readonly retry: RetryPolicy
  ) {}

  /** `host/repository`, for messages */
  get name(): string {
    return `${this.target.host}/${this.target.repository}`
  }

  /** The digest the registry gives for a tag without sending the manifest (HEAD), if it gives one. */
  async headDigest(tag: string, deadline: number): Promise<string | undefined> {
    return this.retrying(`resolving ${this.name}:${tag}`, deadline, async () => {
      const r = await this.get(`manifests/${tag}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } }, deadline)
      discard(r)
      if (r.status !== 200) throw statusError(r.status, `resolving ${this.name}:${tag}`, Buffer.alloc(0))
      const digest = header(r, 'docker-content-digest')
      return digest && DIGEST.test(digest) ? digest : undefined
    })
  }

  /** A manifest or index by tag or digest; by digest, checked against it before it is returned. */
  async manifest(reference: string, deadline: number): Promise<Fetched> {
    const what = `the manifest ${this.name}@${reference}`
    return this.retrying(`fetching ${what}`, deadline, async () => {
      const r = await this.get(`manifests/${reference}`, { method: 'GET', headers: { accept: MANIFEST_ACCEPT } }, deadline)
      const body = await readBody(r, MAX_MANIFEST, what)
      if (r.status !== 200) throw statusError(r.status, `fetching ${what}`, body)
      if (DIGEST.test(reference)) checkBytes(body, reference, what)
      return { body, contentType: header(r, 'content-type') }
    })
  }

  /** A small blob (an image config), checked against its digest and size. */
  async blobBytes(want: Expected, deadline: number): Promise<Buffer> {
    const what = `the blob ${this.name}@${want.digest}`
    return this.retrying(`fetching ${what}`, deadline, async () => {
      const r = await this.get(`blobs/${want.digest}`, { method: 'GET' }, deadline)
      const body = await readBody(r, Math.max(want.size, 1), what)
      if (r.status !== 200) throw statusError(r.status, `fetching ${what}`, body)
      if (body.length !== want.size)
        throw new IntegrityError(`${what} is ${body.length} bytes, not the ${want.size} it was given for`)
      return checkBytes(body, want.digest, what)
    })
  }

  /** A blob streamed to file, checked on the way (see saveChecked). */
  async blobToFile(want: Expected, file: string, deadline: number): Promise<void> {
    const what = `the blob ${this.name}@${want.digest}`
    await this.retrying(`fetching ${what}`, deadline, async () => {
      const r = await this.get(`blobs/${want.digest}`, { method: 'GET' }, deadline)
      if (r.status !== 200)
        throw statusError(r.status, `fetching ${what}`, await readBody(r, 64 * 1024, what).catch(() => Buffer.alloc(0)))
      await saveChecked(r, file, want, what)
    })
  }

  /** A request under /v2/<repository>/, answering one 401 with what the Authorizer can earn. */
  private async get(rest: string, req: Request, deadline: number): Promise<Response> {
    const path = `/v2/${this.target.repository}/${rest}`
    const withAuth = (): Request => {
      const value = this.auth.current(this.target)
      return value ? { ...req, headers: { ...req.headers, authorization: value } } : req
    }
    const r = await this.transport.send(this.target.host, path, withAuth(), deadline)
    if (r.status !== 401) return r
    if (!(await this.auth.answer(r, this.target, deadline))) return r
    return this.transport.send(this.target.host, path, withAuth(), deadline)
  }

  private async retrying<T>(what: string, deadline: number, attempt: () => Promise<T>): Promise<T> {
    let last: RegistryError | undefined
    try {
      return await withRetries(
        async () => {
          try {
            return await attempt()
          } catch (err) {
            if (err instanceof RegistryError && err.transient) {
              last = err
              throw err
            }
            throw new Final(err as Error)
          }
        },
        {
          budget: Math.max(1, (deadline - Date.now()) / 1000),
          what,
          attempts: this.retry.attempts,
          firstDelay: this.retry.firstDelay
        }
      )
    } catch (err) {
      if (err instanceof Final) throw err.inner
      throw new RegistryError(last?.kind ?? 'unreachable', (err as Error).message)
    }
  }
}
