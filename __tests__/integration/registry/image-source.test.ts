/**
 * Source `image` against real registries (Debian's docker-registry on 127.0.0.1), with an image whose
 * emulators are real programs for this host: pulled with no engine and kept by digest; a tag resolved
 * once and cached by its digest; Basic auth from a Docker config file; a registry whose storage serves
 * other bytes fails the step; one that denies the pull hands over to the engine, saying why; a mirror
 * serving the image is used, one serving other bytes under that name is passed over for the source;
 * and the blobs a pull kept are what an Actions cache entry holds: checked offline from the pin, used
 * with no request, and refused once changed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import bcrypt from 'bcryptjs'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { ActionsCache } from '../../../src/acquire/actions-cache/restore.js'
import { chainProblem } from '../../../src/acquire/actions-cache/save.js'
import { restoredFrom } from '../../acquire/actions-cache-standin.js'
import { findCached } from '../../../src/acquire/tool-cache/read.js'
import { ImageSource, type ImageOptions } from '../../../src/acquire/image.js'
import { RegistryClient } from '../../../src/acquire/registry/index.js'
import { Docker } from '../../../src/engine/docker.js'
import { byArch, type Platform } from '../../../src/platform/platforms.js'
import { fromNodeArch } from '../../../src/platform/arch.js'
import { buildProbe } from '../../../src/platform/elf.js'
import { testImage } from '../../acquire/registry/images.js'
import { push, removeTemps, requireTools, startRegistry, stopAll, tamper, tmp, type Registry } from './registry.js'
import { captureOutput } from '../../helpers/output.js'
import { settled } from '../../helpers/settled.js'

const host = fromNodeArch(process.arch) as Platform
const HOST = host.platforms[0]
const OTHER = HOST === 'linux/s390x' ? 'linux/amd64' : 'linux/s390x'
const elf = (seed: number): Buffer => Buffer.concat([buildProbe(host), Buffer.alloc(8192, seed)])
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const EMULATORS: Record<string, Buffer> = { 'usr/bin/qemu-aarch64': elf(1), 'usr/bin/qemu-riscv64': elf(2) }
const imageOf = (seed: string, aarch64: Buffer): ReturnType<typeof testImage> =>
  testImage([HOST, OTHER], seed, (p): Record<string, string | Buffer> =>
    p === HOST ? { ...EMULATORS, 'usr/bin/qemu-aarch64': aarch64, 'usr/bin/binfmt': 'installer' } : { 'usr/bin/binfmt': 'other' }
  )
const image = imageOf('integration', EMULATORS['usr/bin/qemu-aarch64'])
const hostImage = image.images.find(i => i.platform === HOST)!
const DIGEST = image.index.digest
const PIN = DIGEST.slice('sha256:'.length)
const USER = 'builder'
const PASSWORD = 'integration password'

let source: Registry
let basic: Registry
let sameMirror: Registry
let otherMirror: Registry
let tampered: Registry

beforeAll(async () => {
  requireTools('docker-registry')
  process.env.DOCKER_CONFIG = tmp('docker-config')
  const privateStorage = tmp('private')
  const open = await startRegistry(privateStorage)
  await push(open.host, 'team/binfmt', 'v1', image)
  await open.stop()
  const auth = tmp('auth')
  fs.writeFileSync(path.join(auth, 'htpasswd'), `${USER}:${bcrypt.hashSync(PASSWORD, 10)}\n`)
  ;[source, basic, sameMirror, otherMirror, tampered] = await Promise.all([
    startRegistry(tmp('storage')),
    startRegistry(privateStorage, { htpasswd: { realm: 'setup-qemu-test', path: path.join(auth, 'htpasswd') } }),
    startRegistry(tmp('storage')),
    startRegistry(tmp('storage')),
    startRegistry(tmp('storage'))
  ])
  await push(source.host, 'tonistiigi/binfmt', 'qemu-v1', image)
  await push(sameMirror.host, 'tonistiigi/binfmt', 'qemu-v1', image)
  // other bytes under the pinned index's name: it names another manifest for the runner's platform
  await push(otherMirror.host, 'tonistiigi/binfmt', 'qemu-v1', image)
  tamper(otherMirror.storage, DIGEST)
  await push(tampered.host, 'tonistiigi/binfmt', 'qemu-v1', image)
  tamper(tampered.storage, hostImage.layers[0].digest)
}, 90_000)

afterAll(async () => {
  await stopAll()
  removeTemps()
})

const output = captureOutput()
let workDir: string
beforeEach(() => {
  process.env.RUNNER_TOOL_CACHE = tmp('toolcache')
  workDir = tmp('work')
  fs.writeFileSync(path.join(process.env.DOCKER_CONFIG as string, 'config.json'), '{}')
})

const log = { info: (m: string) => void (output.text += `client: ${m}\n`), debug: () => undefined }
const clientWith = (mirror?: Registry) => (): RegistryClient =>
  new RegistryClient({
    timeout: 30,
    log,
    retries: { attempts: 2, firstDelay: 0.1 },
    mirror: mirror && { host: mirror.host, for: source.host }
  })
/** An engine that is not there: the registry path must not need one. */
const noEngine = new Docker(5, '/nonexistent/docker')
const opts = (extra: Partial<ImageOptions> = {}): ImageOptions => ({
  useCache: true,
  workDir,
  timeout: 30,
  registry: clientWith(),
  ...extra
})
const pinnedAt = (r: Registry, repo = 'tonistiigi/binfmt'): string => `${r.host}/${repo}:qemu-v1@${DIGEST}`
const aarch64Of = (dir: string): string => sha(fs.readFileSync(path.join(dir, 'qemu-aarch64')))

describe('a registry without auth', () => {
  it('serves the pinned image with no engine: checked, and kept in the tool cache by its digest', async () => {
    const e = await settled(new ImageSource(pinnedAt(source), noEngine, opts()).acquire('all'))
    expect(e).toMatchObject({ origin: 'image', key: PIN, archs: new Set(['arm64', 'riscv64']) })
    expect(aarch64Of(e.dir)).toBe(sha(EMULATORS['usr/bin/qemu-aarch64']))
    expect((await findCached(PIN))?.complete).toBe(true)
  })

  it('resolves a tag once, names the digest and how to pin it, and caches by it', async () => {
    const tagged = `${source.host}/tonistiigi/binfmt:qemu-v1`
    const src = new ImageSource(tagged, noEngine, opts())
    await src.cached()
    const e = await settled(src.acquire([byArch('riscv64')]))
    expect(e.key).toBe(PIN)
    expect(output.text).toContain(
      `::warning::image ${tagged} is not pinned by digest, and a tag can move: it names ${DIGEST} now`
    )
    expect(output.text).toContain(`pin it: image: ${tagged}@${DIGEST}`)
    expect((await findCached(PIN))?.key).toBe(PIN)
  })

  it('whose storage serves other bytes for a layer fails the step: the content did not match its pin', async () => {
    const run = new ImageSource(pinnedAt(tampered), noEngine, opts()).acquire('all')
    await expect(run).rejects.toThrow(/did not match its pin: .*does not match its digest/)
    expect(await findCached(PIN)).toBeUndefined()
  })
})

describe('Basic auth from a Docker config file', () => {
  it('pulls with the auths entry', async () => {
    const config = { auths: { [basic.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }
    fs.writeFileSync(path.join(process.env.DOCKER_CONFIG as string, 'config.json'), JSON.stringify(config))
    const e = await settled(new ImageSource(pinnedAt(basic, 'team/binfmt'), noEngine, opts()).acquire('all'))
    expect(aarch64Of(e.dir)).toBe(sha(EMULATORS['usr/bin/qemu-aarch64']))
    // the runner consumes the masks it is given; nothing else shows it
    expect(
      output.text
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
    ).not.toContain(PASSWORD)
  })

  it('without credentials is denied, and the engine is asked instead, as the log says', async () => {
    const calls: string[] = []
    const engine = Object.assign(new Docker(5, '/nonexistent/docker'), {
      info: async () => ({ securityOptions: [], rootless: false }),
      ensureImage: async (ref: string) => (calls.push(ref), `sha256:${'7'.repeat(64)}`),
      copyOut: async (_ref: string, _from: string, to: string) =>
        fs.writeFileSync(path.join(to, 'qemu-aarch64'), EMULATORS['usr/bin/qemu-aarch64'], { mode: 0o755 })
    })
    const ref = pinnedAt(basic, 'team/binfmt')
    await settled(new ImageSource(ref, engine, opts()).acquire('all'))
    expect(calls).toEqual([ref])
    expect(output.text).toMatch(
      /could not be fetched over the registry API \(.*HTTP 401.*log in first.*\): the Docker engine pulls it instead/s
    )
  })
})

describe('a mirror', () => {
  it('serving the pinned image is used', async () => {
    await settled(new ImageSource(pinnedAt(source), noEngine, opts({ registry: clientWith(sameMirror) })).acquire('all'))
    expect(output.text).toContain(`fetched ${pinnedAt(source)} from the mirror`)
  })

  it('serving other bytes under that name is refused, and the source is used', async () => {
    const e = await settled(
      new ImageSource(pinnedAt(source), noEngine, opts({ registry: clientWith(otherMirror) })).acquire('all')
    )
    expect(aarch64Of(e.dir)).toBe(sha(EMULATORS['usr/bin/qemu-aarch64']))
    expect(output.text).toContain(`client: the mirror ${otherMirror.host} could not be used (it served other content`)
    expect(output.text).toContain(`fetched ${pinnedAt(source)} from its registry`)
  })
})

describe('the blobs a pull kept, as an Actions cache entry holds them', () => {
  /** A stand-in of the run's Actions cache that restores dir and records refusals. */
  const restoring = (dir: string, refused: string[]): ActionsCache =>
    ({
      restore: async () => restoredFrom(dir),
      refuse: (p: string) => void refused.push(p),
      keepDir: async () => undefined,
      keep: () => undefined
    }) as unknown as ActionsCache
  async function kept(): Promise<string> {
    const store = tmp('kept')
    const c = clientWith()()
    await c.pull(pinnedAt(source), { wanted: () => false, dir: tmp('scratch'), maxBytes: 1 << 24, store })
    c.close()
    return store
  }

  it('chain to the pin, and serve the emulators with no request to any registry', async () => {
    const store = await kept()
    expect(await chainProblem({ holds: 'image', pin: PIN, timeout: 30 }, store)).toBeUndefined()
    const refused: string[] = []
    // a registry that is not there: nothing may be fetched
    const e = await settled(
      new ImageSource(`127.0.0.1:9/tonistiigi/binfmt@${DIGEST}`, noEngine, opts({ actions: restoring(store, refused) })).acquire(
        'all'
      )
    )
    expect(e.origin).toBe('Actions cache')
    expect(refused).toEqual([])
    expect(aarch64Of(e.dir)).toBe(sha(EMULATORS['usr/bin/qemu-aarch64']))
  })

  it('with a layer changed, are refused, and the registry serves the image', async () => {
    const store = await kept()
    const layer = path.join(store, 'sha256', hostImage.layers[0].digest.slice(7))
    fs.writeFileSync(layer, Buffer.alloc(fs.statSync(layer).size, 1))
    expect(await chainProblem({ holds: 'image', pin: PIN, timeout: 30 }, store)).toMatch(/does not match its digest/)
    const refused: string[] = []
    const e = await settled(
      new ImageSource(pinnedAt(source), noEngine, opts({ actions: restoring(store, refused) })).acquire('all')
    )
    expect(refused).toHaveLength(1)
    expect(e.origin).toBe('image')
    expect(aarch64Of(e.dir)).toBe(sha(EMULATORS['usr/bin/qemu-aarch64']))
  })
})
