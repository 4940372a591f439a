/**
 * The client against a real registry (Debian's docker-registry on 127.0.0.1, plain HTTP, no auth):
 * tags resolved, each platform's files pulled from a multi-platform image pushed through the API,
 * content changed in the registry's storage refused, and a mirror used or passed over.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { hostPlatform } from '../../../src/platform/host.js'
import { IntegrityError, RegistryClient, type PullOptions } from '../../../src/acquire/registry/index.js'
import { filesFor, testImage } from '../../acquire/registry/images.js'
import { push, removeTemps, requireTools, startRegistry, stopAll, tamper, tmp, type Registry } from './registry.js'

const HOST = hostPlatform().platforms[0]
const PLATFORMS = [
  ...new Set([HOST, 'linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/s390x', 'linux/riscv64'])
]
const image = testImage(PLATFORMS, 'v1')
const other = testImage(PLATFORMS, 'other') // the same name elsewhere, other bytes
const qemu = (m: string): boolean => /^usr\/bin\/qemu-[a-z0-9_]+$/.test(m)
const expected = (platform: string, seed = 'v1'): Record<string, string> =>
  Object.fromEntries(Object.entries(filesFor(platform, seed)).filter(([k]) => qemu(k)))
const contents = (files: { path: string; file: string }[]): Record<string, string> =>
  Object.fromEntries(files.map(f => [f.path, fs.readFileSync(f.file, 'utf8')]))
const pullOpts = (extra: Partial<PullOptions> = {}): PullOptions => ({
  wanted: qemu,
  dir: path.join(tmp('out'), 'emulators'),
  maxBytes: 1 << 20,
  ...extra
})
const lines: string[] = []
const log = { info: (m: string) => void lines.push(`info: ${m}`), debug: (m: string) => void lines.push(`debug: ${m}`) }
const clients: RegistryClient[] = []
const client = (opts: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}): RegistryClient => {
  const c = new RegistryClient({ timeout: 30, log, retries: { attempts: 2, firstDelay: 0.1 }, ...opts })
  clients.push(c)
  return c
}

let source: Registry
let sameMirror: Registry
let otherMirror: Registry
let tamperedMirror: Registry

beforeAll(async () => {
  requireTools('docker-registry')
  process.env.DOCKER_CONFIG = tmp('docker-config')
  ;[source, sameMirror, otherMirror, tamperedMirror] = await Promise.all(
    [0, 1, 2, 3].map(async () => startRegistry(tmp('storage')))
  )
  await push(source.host, 'tonistiigi/binfmt', 'qemu-v1', image)
  await push(sameMirror.host, 'tonistiigi/binfmt', 'qemu-v1', image)
  await push(otherMirror.host, 'tonistiigi/binfmt', 'qemu-v1', other)
  await push(tamperedMirror.host, 'tonistiigi/binfmt', 'qemu-v1', image)
  tamper(tamperedMirror.storage, image.images.find(i => i.platform === HOST)!.layers[0].digest)
}, 60_000)

afterAll(async () => {
  for (const c of clients) c.close()
  await stopAll()
  removeTemps()
})

describe('a registry without auth', () => {
  it('resolves a tag to the digest the index was pushed with', async () => {
    expect(await client().resolve(`${source.host}/tonistiigi/binfmt:qemu-v1`)).toBe(image.index.digest)
  })

  it("pulls this host's emulators by tag, and by digest", async () => {
    for (const ref of [
      `${source.host}/tonistiigi/binfmt:qemu-v1`,
      `${source.host}/tonistiigi/binfmt:qemu-v1@${image.index.digest}`
    ]) {
      const r = await client().pull(ref, pullOpts())
      expect(r).toMatchObject({ digest: image.index.digest, from: 'source' })
      expect(r.manifest).toBe(image.images.find(i => i.platform === HOST)?.manifest.digest)
      expect(contents(r.files)).toEqual(expected(HOST))
    }
  })

  it.each(PLATFORMS)('pulls the files for %s', async platform => {
    const r = await client().pull(`${source.host}/tonistiigi/binfmt@${image.index.digest}`, pullOpts({ platform }))
    expect(contents(r.files)).toEqual(expected(platform))
  })

  it('says not-found for a tag or digest it does not have', async () => {
    await expect(client().resolve(`${source.host}/tonistiigi/binfmt:nope`)).rejects.toMatchObject({ kind: 'not-found' })
    await expect(client().pull(`${source.host}/tonistiigi/binfmt@${other.index.digest}`, pullOpts())).rejects.toMatchObject({
      kind: 'not-found'
    })
  })

  it('says unreachable for a registry that is gone', async () => {
    const gone = await startRegistry(tmp('storage'))
    await gone.stop()
    await expect(client({ timeout: 5 }).resolve(`${gone.host}/tonistiigi/binfmt:qemu-v1`)).rejects.toMatchObject({
      kind: 'unreachable'
    })
  })
})

describe('content changed in the registry', () => {
  it('is an IntegrityError, and leaves nothing in the directory', async () => {
    const reg = await startRegistry(tmp('storage'))
    await push(reg.host, 'binfmt', 'v1', image)
    const host = image.images.find(i => i.platform === HOST)!
    for (const digest of [host.layers[1].digest, host.manifest.digest, image.index.digest]) {
      tamper(reg.storage, digest)
      const opts = pullOpts()
      const run = client().pull(`${reg.host}/binfmt@${image.index.digest}`, opts)
      await expect(run).rejects.toThrow(IntegrityError)
      await expect(run).rejects.toThrow(`expected ${digest}`)
      expect(fs.readdirSync(path.dirname(opts.dir), { recursive: true }).filter(p => !String(p).startsWith('emulators'))).toEqual(
        []
      )
      expect(
        (fs.readdirSync(opts.dir, { recursive: true }) as string[]).filter(p => fs.statSync(path.join(opts.dir, p)).isFile())
      ).toEqual([])
    }
    await reg.stop()
  })
})

describe('a mirror', () => {
  const ref = (): string => `${source.host}/tonistiigi/binfmt:qemu-v1`
  const mirror = (m: Registry) => ({ host: m.host, for: source.host })

  it('that holds the image serves it', async () => {
    const r = await client({ mirror: mirror(sameMirror) }).pull(ref(), pullOpts())
    expect(r).toMatchObject({ from: 'mirror', digest: image.index.digest })
    expect(r.mirrorFailure).toBeUndefined()
    expect(contents(r.files)).toEqual(expected(HOST))
  })

  it('with other content under the same name is passed over: the digest is the source’s', async () => {
    lines.length = 0
    const r = await client({ mirror: mirror(otherMirror) }).pull(ref(), pullOpts())
    expect(r).toMatchObject({ from: 'source', digest: image.index.digest })
    expect(r.mirrorFailure).toMatch(/HTTP 404/)
    expect(contents(r.files)).toEqual(expected(HOST))
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^info: the mirror ${otherMirror.host} could not be used .*fetching from ${source.host} instead$`)
      )
    )
  })

  it('serving other bytes for the digest is refused, and the source used', async () => {
    const r = await client({ mirror: mirror(tamperedMirror) }).pull(ref(), pullOpts())
    expect(r.from).toBe('source')
    expect(r.mirrorFailure).toMatch(/^it served other content: .* does not match its digest/)
    expect(contents(r.files)).toEqual(expected(HOST))
  })
})
