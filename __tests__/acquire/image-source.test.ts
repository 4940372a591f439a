/**
 * Source `image` over the registry API, against a small registry on loopback that serves an image
 * whose emulators are real programs for this host: the cold path needs no engine at all; content that
 * does not match its pin fails the step and nothing is kept; a registry that refuses the API hands
 * over to the engine, saying why; a tag is resolved once, named with the line that pins it, and then
 * cached by its digest; and on a hosted runner the Actions cache's blobs are used only when every one
 * chains to the pin, and otherwise refused, with the image fetched as usual.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { actionsCacheStandIn } from './actions-cache-standin.js'
import { findCached } from '../../src/acquire/tool-cache/read.js'
import { ImageSource, type ImageOptions } from '../../src/acquire/image.js'
import { RegistryClient } from '../../src/acquire/registry/index.js'
import { Docker } from '../../src/engine/docker.js'
import { byArch, type Platform } from '../../src/platform/platforms.js'
import { fromNodeArch } from '../../src/platform/arch.js'
import { buildProbe } from '../../src/platform/elf.js'
import { FakeRegistry } from './registry/fake-registry.js'
import { testImage } from './registry/images.js'
import { captureOutput } from '../helpers/output.js'
import { tempDirs } from '../helpers/tmp.js'
import { settled } from '../helpers/settled.js'

const host = fromNodeArch(process.arch) as Platform
const HOST = host.platforms[0]
const OTHER = HOST === 'linux/s390x' ? 'linux/amd64' : 'linux/s390x'
const hostElf = (seed: number): Buffer => Buffer.concat([buildProbe(host), Buffer.alloc(4096, seed)])
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
/** The image's emulators for the host's platform: programs for this host, one per emulated arch. */
const EMULATORS: Record<string, Buffer> = { 'usr/bin/qemu-aarch64': hostElf(1), 'usr/bin/qemu-s390x': hostElf(2) }
const image = testImage([HOST, OTHER], 'source', (p): Record<string, string | Buffer> =>
  p === HOST ? { ...EMULATORS, 'usr/bin/binfmt': 'installer' } : { 'usr/bin/qemu-aarch64': 'not for this host' }
)
const hostImage = image.images.find(i => i.platform === HOST)!
const DIGEST = image.index.digest
const PIN = DIGEST.slice('sha256:'.length)

const tmp = tempDirs('sq-image')
let registry: FakeRegistry
let reg: string
beforeAll(async () => {
  process.env.DOCKER_CONFIG = tmp('docker-config')
  registry = new FakeRegistry().add(...image.all).tag('latest', image.index)
  reg = await registry.start()
})
afterAll(async () => {
  await registry.stop()
})

const output = captureOutput()
let workDir: string
beforeEach(() => {
  registry.seen.length = 0
  registry.tampered.clear()
  registry.hook = undefined
  process.env.RUNNER_TOOL_CACHE = tmp('toolcache')
  workDir = tmp('work')
})

/** An engine that is not there: any call to it fails the test's run. */
const noEngine = new Docker(5, '/nonexistent/docker')
const client = (): RegistryClient =>
  new RegistryClient({
    timeout: 20,
    retries: { attempts: 1 },
    log: { info: m => void (output.text += `client: ${m}\n`), debug: m => void (output.text += `client debug: ${m}\n`) }
  })
const options = (extra: Partial<ImageOptions> = {}): ImageOptions => ({
  useCache: true,
  workDir,
  timeout: 20,
  registry: client,
  ...extra
})
const pinned = (): string => `${reg}/tonistiigi/binfmt:qemu-v1@${DIGEST}`
const files = (dir: string): Record<string, string> =>
  Object.fromEntries(fs.readdirSync(dir).map(n => [n, sha(fs.readFileSync(path.join(dir, n)))]))

describe('a pinned image', () => {
  it("is fetched over the registry API with no engine: the host's emulators, checked, kept by its digest", async () => {
    const e = await settled(new ImageSource(pinned(), noEngine, options()).acquire('all'))
    expect(e).toMatchObject({ origin: 'image', key: PIN, archs: new Set(['arm64', 's390x']) })
    expect(files(e.dir)).toEqual({
      'qemu-aarch64': sha(EMULATORS['usr/bin/qemu-aarch64']),
      'qemu-s390x': sha(EMULATORS['usr/bin/qemu-s390x'])
    })
    expect(output.text).toContain(`fetched ${pinned()} from its registry, every blob matching its digest`)
    expect((await findCached(PIN))?.archs).toEqual(new Set(['arm64', 's390x']))
    // only the host's platform was fetched
    const other = image.images.find(i => i.platform === OTHER)!
    expect(registry.seen.some(s => s.url.includes(other.manifest.digest) || s.url.includes(other.layers[0].digest))).toBe(false)
  })

  it('whose registry serves other bytes fails, saying the content did not match its pin, and keeps nothing', async () => {
    registry.tampered.set(hostImage.layers[0].digest, Buffer.alloc(hostImage.layers[0].bytes.length, 9))
    const run = new ImageSource(pinned(), noEngine, options()).acquire('all')
    await expect(run).rejects.toThrow(
      /^image .* did not match its pin: the blob .* does not match its digest.*Nothing from it was used or cached/
    )
    expect(await findCached(PIN)).toBeUndefined()
    expect(fs.readdirSync(workDir)).toEqual([])
  })

  it('whose registry refuses the API is pulled by the engine instead, by the same digest, and the log says why', async () => {
    registry.hook = (_req, res) => (res.writeHead(403).end('{"errors":[{"code":"DENIED","message":"no API for you"}]}'), true)
    const calls: string[] = []
    const engine = Object.assign(new Docker(5, '/nonexistent/docker'), {
      info: async () => ({ securityOptions: [], rootless: false }),
      ensureImage: async (ref: string) => (calls.push(`ensure ${ref}`), `sha256:${'7'.repeat(64)}`),
      copyOut: async (ref: string, _from: string, to: string) => {
        calls.push(`copy ${ref}`)
        fs.writeFileSync(path.join(to, 'qemu-aarch64'), EMULATORS['usr/bin/qemu-aarch64'], { mode: 0o755 })
      }
    })
    const e = await settled(new ImageSource(pinned(), engine, options()).acquire('all'))
    expect(calls).toEqual([`ensure ${pinned()}`, `copy ${pinned()}`])
    expect(e).toMatchObject({ origin: 'image', key: PIN, archs: new Set(['arm64']) })
    expect(output.text).toMatch(/could not be fetched over the registry API \(.*HTTP 403.*\): the Docker engine pulls it instead/)
  })
})

describe('an image on Docker Hub, with an engine that pulls it through registry mirrors', () => {
  const hub = `docker.io/tonistiigi/binfmt:qemu-v1@${DIGEST}`
  const engineWith = (mirrors: string, calls: string[]): Docker =>
    Object.assign(new Docker(5, '/nonexistent/docker'), {
      info: async () => ({ securityOptions: [], rootless: false }),
      call: async (args: readonly string[]) => (calls.push(args.join(' ')), { exitCode: 0, stdout: `${mirrors}\n`, stderr: '' }),
      ensureImage: async (ref: string) => (calls.push(`ensure ${ref}`), `sha256:${'7'.repeat(64)}`),
      copyOut: async (ref: string, _from: string, to: string) => {
        calls.push(`copy ${ref}`)
        fs.writeFileSync(path.join(to, 'qemu-aarch64'), EMULATORS['usr/bin/qemu-aarch64'], { mode: 0o755 })
      }
    })

  it('is pulled by the engine, by its digest, and the log says why; Docker Hub is not asked', async () => {
    const calls: string[] = []
    let asked = 0
    const registry = (): ReturnType<typeof client> => (asked++, client())
    const e = await settled(
      new ImageSource(hub, engineWith('["https://mirror.example.com/"]', calls), options({ registry })).acquire('all')
    )
    expect(calls).toEqual(['info --format {{json .RegistryConfig.Mirrors}}', `ensure ${hub}`, `copy ${hub}`])
    expect(asked).toBe(0)
    expect(e).toMatchObject({ origin: 'image', key: PIN, archs: new Set(['arm64']) })
    expect(output.text).toContain(
      "the Docker engine pulls Docker Hub's images through its registry mirrors (https://mirror.example.com/)"
    )
  })

  it('with no mirrors, or with registry-mirror given, is fetched over the registry API as usual', async () => {
    for (const [mirrors, extra] of [
      ['null', {}],
      ['["https://mirror.example.com/"]', { mirror: '127.0.0.1:9' }]
    ] as const) {
      const calls: string[] = []
      let asked = 0
      output.text = ''
      process.env.RUNNER_TOOL_CACHE = tmp('toolcache')
      // the registry is asked first; whether it answers here (it is Docker Hub) does not matter
      const registry = (): ReturnType<typeof client> => (asked++, client())
      await settled(new ImageSource(hub, engineWith(mirrors, calls), options({ registry, ...extra })).acquire('all')).catch(
        () => undefined
      )
      expect(asked).toBeGreaterThan(0)
      expect(output.text).not.toContain('through its registry mirrors')
      // a registry-mirror given by the user is used without asking the engine about its own
      if ('mirror' in extra) expect(calls).not.toContain('info --format {{json .RegistryConfig.Mirrors}}')
    }
  })
})

describe('an image by tag', () => {
  const tagged = (): string => `${reg}/tonistiigi/binfmt:latest`
  const resolutions = (): number => registry.seen.filter(s => s.url.endsWith('/manifests/latest')).length

  it('is resolved once a run, named by the one warning that says how to pin it, and cached by that digest', async () => {
    const source = new ImageSource(tagged(), noEngine, options())
    await source.cached()
    const e = await settled(source.acquire([byArch('arm64')]))
    expect(resolutions()).toBe(1)
    expect(e.key).toBe(PIN)
    expect(source.contentKey).toBe(PIN)
    const warnings = output.text.split('\n').filter(l => l.startsWith('::warning::'))
    expect(warnings).toEqual([
      `::warning::image ${tagged()} is not pinned by digest, and a tag can move: it names ${DIGEST} now, which this run uses. ` +
        `To keep exactly this content, pin it: image: ${tagged()}@${DIGEST}`
    ])
    expect((await findCached(PIN))?.complete).toBe(true)

    // the next run resolves again, and takes the emulators from the tool cache by that digest
    const fetchedBefore = registry.seen.filter(s => s.url.includes('/blobs/')).length
    const later = await settled(new ImageSource(tagged(), noEngine, options()).acquire([byArch('s390x')]))
    expect(later.origin).toBe('tool cache')
    expect(resolutions()).toBe(2)
    expect(registry.seen.filter(s => s.url.includes('/blobs/')).length).toBe(fetchedBefore)
  })

  it('that cannot be resolved is pulled by the engine, with a warning that says why', async () => {
    const source = new ImageSource(`${reg}/tonistiigi/binfmt:nope`, noEngine, options())
    await source.cached()
    expect(source.contentKey).toBeUndefined()
    expect(output.text).toMatch(
      /::warning::image .*:nope is not pinned by digest, and its tag could not be resolved over the registry API \(.*\): the engine pulls it/
    )
  })
})

describe('a mirror', () => {
  let mirror: FakeRegistry
  let mirrorHost: string
  beforeAll(async () => {
    mirror = new FakeRegistry().add(...image.all)
    mirrorHost = await mirror.start()
  })
  afterAll(async () => mirror.stop())
  beforeEach(() => {
    mirror.seen.length = 0
    mirror.tampered.clear()
  })
  const viaMirror = (): RegistryClient =>
    new RegistryClient({
      timeout: 20,
      mirror: { host: mirrorHost, for: reg },
      log: { info: m => void (output.text += `client: ${m}\n`), debug: () => undefined }
    })

  it('serving the pinned image is used', async () => {
    const e = await settled(new ImageSource(pinned(), noEngine, options({ registry: viaMirror })).acquire('all'))
    expect(e.archs).toEqual(new Set(['arm64', 's390x']))
    expect(output.text).toContain(`fetched ${pinned()} from the mirror`)
    expect(registry.seen.filter(s => s.url.includes('/blobs/'))).toEqual([])
  })

  it('serving other bytes under that name is refused, and the source is used, as the log says', async () => {
    mirror.tampered.set(hostImage.layers[1].digest, Buffer.alloc(hostImage.layers[1].bytes.length, 3))
    const e = await settled(new ImageSource(pinned(), noEngine, options({ registry: viaMirror })).acquire('all'))
    expect(files(e.dir)['qemu-aarch64']).toBe(sha(EMULATORS['usr/bin/qemu-aarch64']))
    expect(output.text).toContain(`client: the mirror ${mirrorHost} could not be used (it served other content`)
    expect(output.text).toContain(`fetched ${pinned()} from its registry`)
  })
})

describe('on a hosted runner, the Actions cache', () => {
  const actions = (restored?: string): ReturnType<typeof actionsCacheStandIn> => actionsCacheStandIn(() => tmp('keep'), restored)
  /** The blobs a pull of the image fetched, as an entry holds them. */
  async function storeOf(): Promise<string> {
    const store = tmp('entry')
    const c = client()
    await c.pull(pinned(), { wanted: () => false, dir: tmp('scratch'), maxBytes: 1 << 20, store })
    c.close()
    return store
  }

  it('that holds the blobs is used with no request to the registry', async () => {
    const a = actions(await storeOf())
    registry.seen.length = 0
    const e = await settled(new ImageSource(pinned(), noEngine, options({ actions: a.cache })).acquire('all'))
    expect(e.origin).toBe('Actions cache')
    expect(files(e.dir)['qemu-s390x']).toBe(sha(EMULATORS['usr/bin/qemu-s390x']))
    expect(registry.seen).toEqual([])
    expect(a.refused).toEqual([])
  })

  it('whose emulator was swapped, every record around it rewritten, is refused; the registry serves the image', async () => {
    const store = await storeOf()
    // another program as qemu-aarch64, in layers, a manifest and an index each named by its own digest,
    // the index then put where the pin's is looked up: everything but the pin itself agrees
    const swapped = testImage([HOST], 'swapped', () => ({ ...EMULATORS, 'usr/bin/qemu-aarch64': hostElf(66) }))
    for (const b of swapped.all) fs.writeFileSync(path.join(store, 'sha256', b.digest.slice(7)), b.bytes)
    fs.writeFileSync(path.join(store, 'sha256', PIN), swapped.index.bytes)
    const a = actions(store)
    const e = await settled(new ImageSource(pinned(), noEngine, options({ actions: a.cache })).acquire('all'))
    expect(a.refused).toEqual([
      `it does not hold the image ${DIGEST} names (the stored manifest ${DIGEST} does not match its digest)`
    ])
    expect(e.origin).toBe('image')
    expect(files(e.dir)['qemu-aarch64']).toBe(sha(EMULATORS['usr/bin/qemu-aarch64']))
    // what was fetched is not handed to post: the entry exists
    expect(a.kept).toEqual([])
  })

  it('with a layer of other bytes under its name is refused too', async () => {
    const store = await storeOf()
    const file = path.join(store, 'sha256', hostImage.layers[0].digest.slice(7))
    fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 5))
    const a = actions(store)
    await settled(new ImageSource(pinned(), noEngine, options({ actions: a.cache })).acquire('all'))
    expect(a.refused).toEqual([
      `it does not hold the image ${DIGEST} names (the stored layer ${hostImage.layers[0].digest} does not match its digest)`
    ])
  })

  it("asked for some platforms takes only their emulators out of the image, since the job's tool cache ends with it", async () => {
    const arm64 = byArch('arm64') as Platform
    const a = actions(await storeOf())
    const e = await settled(new ImageSource(pinned(), noEngine, options({ actions: a.cache })).acquire([arm64]))
    expect(Object.keys(files(e.dir))).toEqual(['qemu-aarch64'])
    // its layer is read only as far as qemu-aarch64; the one above it, whole
    expect(output.text.match(/client debug: the layer \S+ gave every file needed: the rest of it is not read/g)).toHaveLength(1)
    const kept = await findCached(PIN)
    expect(kept?.complete).toBe(false)
    expect([...(kept?.archs ?? [])]).toEqual(['arm64'])
  })

  it('that holds the blobs of an image on Docker Hub is used without asking the engine for its mirrors', async () => {
    const a = actions(await storeOf())
    const calls: string[] = []
    const engine = Object.assign(new Docker(5, '/nonexistent/docker'), {
      call: async (args: readonly string[]) => (
        calls.push(args.join(' ')),
        { exitCode: 0, stdout: '["https://m.example"]', stderr: '' }
      )
    })
    const e = await settled(
      new ImageSource(`docker.io/tonistiigi/binfmt:qemu-v1@${DIGEST}`, engine, options({ actions: a.cache })).acquire('all')
    )
    expect(e.origin).toBe('Actions cache')
    expect(calls).toEqual([])
  })

  it('that lacks the entry gets the blobs this run fetched, for post to save', async () => {
    const a = actions()
    await settled(new ImageSource(pinned(), noEngine, options({ actions: a.cache })).acquire('all'))
    expect(a.kept).toHaveLength(1)
    const kept = fs.readdirSync(path.join(a.kept[0], 'sha256')).sort()
    expect(kept).toEqual(
      [image.index.digest, hostImage.manifest.digest, ...hostImage.layers.map(l => l.digest)].map(d => d.slice(7)).sort()
    )
  })
})
