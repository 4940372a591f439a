/**
 * The client against a small registry that misbehaves on demand: what is pulled is what the digest
 * names, or the pull fails with an IntegrityError and leaves nothing; the registry's refusals come back
 * as RegistryErrors of the right kind; requests end by the deadline; plain HTTP only on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { hostPlatform } from '../../../src/platform/host.js'
import { IntegrityError, RegistryClient, RegistryError, type PullOptions } from '../../../src/acquire/registry/index.js'
import { Transport } from '../../../src/acquire/registry/http.js'
import { InputError } from '../../../src/inputs/validate.js'
import { FakeRegistry } from './fake-registry.js'
import { blob, filesFor, platformImage, testImage } from './images.js'
import { tempDirs } from '../../helpers/tmp.js'

const HOST = hostPlatform().platforms[0]
const PLATFORMS = [...new Set([HOST, 'linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'])]
const image = testImage(PLATFORMS)
const hostImage = image.images.find(i => i.platform === HOST)!
const qemu = (m: string): boolean => /^usr\/bin\/qemu-/.test(m)
const qemuFiles = (platform: string, seed = 'v1'): Record<string, string> =>
  Object.fromEntries(Object.entries(filesFor(platform, seed)).filter(([k]) => qemu(k)))

const tmp = tempDirs('sq-client')
const servers: FakeRegistry[] = []
const clients: RegistryClient[] = []
const lines: string[] = []
const log = { info: (m: string) => void lines.push(`info: ${m}`), debug: (m: string) => void lines.push(`debug: ${m}`) }

async function serve(tags: Record<string, typeof image.index> = { v1: image.index }): Promise<[FakeRegistry, string]> {
  const r = new FakeRegistry().add(...image.all)
  for (const [t, b] of Object.entries(tags)) r.tag(t, b)
  servers.push(r)
  return [r, await r.start()]
}
function client(opts: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}): RegistryClient {
  const c = new RegistryClient({ timeout: 20, log, retries: { firstDelay: 0.05 }, ...opts })
  clients.push(c)
  return c
}
const pullOpts = (extra: Partial<PullOptions> = {}): PullOptions => ({
  wanted: qemu,
  dir: path.join(tmp('out'), 'emulators'),
  maxBytes: 1 << 20,
  ...extra
})

/** For a hook: it has answered. */
const answered = (_: unknown): boolean => true

/** member path → content of what a pull wrote */
const contents = (files: { path: string; file: string }[]): Record<string, string> =>
  Object.fromEntries(files.map(f => [f.path, fs.readFileSync(f.file, 'utf8')]))

/** Every file under dir's parent (the pull's directory and whatever it put beside it). */
const leftovers = (dir: string): string[] =>
  (fs.readdirSync(path.dirname(dir), { recursive: true }) as string[]).filter(p =>
    fs.statSync(path.join(path.dirname(dir), p)).isFile()
  )

beforeAll(() => {
  process.env.DOCKER_CONFIG = tmp('docker-config') // nothing from this machine's own login
})
afterEach(() => {
  lines.length = 0
})
afterAll(async () => {
  for (const c of clients) c.close()
  for (const s of servers) await s.stop()
})

describe('pulling', () => {
  it("resolves a tag with HEAD and takes this host's files from the index", async () => {
    const [reg, host] = await serve()
    const c = client()
    expect(await c.resolve(`${host}/tonistiigi/binfmt:v1`)).toBe(image.index.digest)
    expect(reg.seen.filter(s => s.url.includes('/manifests/')).map(s => s.method)).toEqual(['HEAD'])
    const opts = pullOpts()
    const r = await c.pull(`${host}/tonistiigi/binfmt:v1`, opts)
    expect(r).toMatchObject({ digest: image.index.digest, manifest: hostImage.manifest.digest, from: 'source' })
    expect(r.mirrorFailure).toBeUndefined()
    expect(contents(r.files)).toEqual(qemuFiles(HOST))
    expect(r.files.every(f => f.file === path.join(opts.dir, f.path))).toBe(true)
    expect(leftovers(opts.dir).every(p => p.startsWith(`emulators${path.sep}usr`))).toBe(true)
  })

  it.each(['linux/arm64', 'linux/arm/v7', 'linux/s390x'])('takes the manifest for %s when asked', async platform => {
    const [, host] = await serve()
    const r = await client().pull(`${host}/binfmt@${image.index.digest}`, pullOpts({ platform }))
    expect(r.manifest).toBe(image.images.find(i => i.platform === platform)?.manifest.digest)
    expect(contents(r.files)).toEqual(qemuFiles(platform))
  })

  it('says which platforms there are when the image has none for the one asked', async () => {
    const [, host] = await serve()
    const run = client().pull(`${host}/binfmt:v1`, pullOpts({ platform: 'linux/riscv64' }))
    await expect(run).rejects.toThrow(RegistryError)
    await expect(run).rejects.toThrow(/no manifest for linux\/riscv64 \(it has: linux\/amd64, .*unknown\/unknown\)/)
  })

  it('pulls the digest a HEAD resolved the tag to', async () => {
    const [reg, host] = await serve()
    reg.hook = (req, res) => {
      if (req.method !== 'HEAD') return false
      res.writeHead(200, { 'docker-content-digest': hostImage.manifest.digest }).end()
      return true
    }
    // the registry says the tag is the host manifest, and serves that digest honestly: the pull is of that
    const r = await client().pull(`${host}/binfmt:v1`, pullOpts())
    expect(r.digest).toBe(hostImage.manifest.digest)
  })

  it('takes a single-platform image for its own platform only', async () => {
    const own = platformImage(HOST, 'single')
    const other = platformImage(HOST === 'linux/s390x' ? 'linux/amd64' : 'linux/s390x', 'single')
    const reg = new FakeRegistry()
      .add(own.config, ...own.layers, other.config, ...other.layers)
      .tag('own', own.manifest)
      .tag('other', other.manifest)
    servers.push(reg)
    const host = await reg.start()
    const r = await client().pull(`${host}/single:own`, pullOpts())
    expect(r).toMatchObject({ digest: own.manifest.digest, manifest: own.manifest.digest })
    expect(contents(r.files)).toEqual(qemuFiles(HOST, 'single'))
    await expect(client().pull(`${host}/single:other`, pullOpts())).rejects.toThrow(/is for linux\/.*, not/)
  })
})

describe('content that does not match its digest', () => {
  const cases: [string, () => { digest: string; bytes: Buffer }][] = [
    ['the index', () => image.index],
    ["this host's manifest", () => hostImage.manifest],
    ['a layer', () => hostImage.layers[1]]
  ]
  it.each(cases)('%s: an IntegrityError, and nothing left behind', async (_, which) => {
    const [reg, host] = await serve()
    const b = which()
    const other = Buffer.from(b.bytes)
    other[other.length - 3] ^= 1 // same length, other bytes
    reg.tampered.set(b.digest, other)
    const opts = pullOpts()
    const run = client().pull(`${host}/binfmt@${image.index.digest}`, opts)
    await expect(run).rejects.toThrow(IntegrityError)
    await expect(run).rejects.toThrow(new RegExp(`does not match its digest: expected ${b.digest}`))
    expect(leftovers(opts.dir)).toEqual([])
  })

  it('a layer longer than its manifest says is cut off as an IntegrityError', async () => {
    const [reg, host] = await serve()
    reg.tampered.set(hostImage.layers[0].digest, Buffer.concat([hostImage.layers[0].bytes, Buffer.alloc(4096)]))
    const opts = pullOpts()
    await expect(client().pull(`${host}/binfmt:v1`, opts)).rejects.toThrow(/longer than the \d+ bytes/)
    expect(leftovers(opts.dir)).toEqual([])
  })
})

describe('limits and refusals', () => {
  it('refuses layers over the size cap before fetching them', async () => {
    const [reg, host] = await serve()
    const run = client().pull(`${host}/binfmt:v1`, pullOpts({ maxBytes: 100 }))
    await expect(run).rejects.toMatchObject({ kind: 'unsupported' })
    await expect(run).rejects.toThrow(/more than the 100 allowed/)
    expect(reg.seen.some(s => s.url.includes('/blobs/'))).toBe(false)
  })

  it('refuses zstd layers, saying so', async () => {
    const z = platformImage(HOST, 'zstd', 'application/vnd.oci.image.layer.v1.tar+zstd')
    const reg = new FakeRegistry().add(z.config, ...z.layers).tag('z', z.manifest)
    servers.push(reg)
    const run = client().pull(`${await reg.start()}/z:z`, pullOpts())
    await expect(run).rejects.toMatchObject({ kind: 'unsupported' })
    await expect(run).rejects.toThrow(
      /tar\+zstd: only tar and gzip-compressed tar layers are extracted here \(zstd and others are refused\)/
    )
  })

  it('an unknown tag is not-found', async () => {
    const [, host] = await serve()
    await expect(client().resolve(`${host}/binfmt:nope`)).rejects.toMatchObject({ kind: 'not-found' })
  })

  it('retries a 503 and goes on', async () => {
    const [reg, host] = await serve()
    let failures = 2
    reg.hook = (req, res) => {
      if (!req.url?.includes('/blobs/') || failures-- <= 0) return false
      res.writeHead(503).end('busy')
      return true
    }
    const r = await client().pull(`${host}/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(qemuFiles(HOST))
  })

  it('gives up on a 500 after the attempts, as refused', async () => {
    const [reg, host] = await serve()
    reg.hook = (_req, res) => answered(res.writeHead(500).end())
    const run = client({ retries: { attempts: 2, firstDelay: 0.05 } }).resolve(`${host}/binfmt:v1`)
    await expect(run).rejects.toMatchObject({ kind: 'refused' })
    await expect(run).rejects.toThrow(/gave up after 2 attempts/)
    expect(reg.seen).toHaveLength(4) // HEAD, then GET, each twice
  })

  it('ends a request that gets no answer by the timeout, as unreachable', async () => {
    const [reg, host] = await serve()
    reg.hook = () => true // never answers
    const started = Date.now()
    await expect(client({ timeout: 2 }).resolve(`${host}/binfmt:v1`)).rejects.toMatchObject({ kind: 'unreachable' })
    expect(Date.now() - started).toBeLessThan(6000)
  })

  it('ends a body that stalls by the timeout, and leaves no partial file', async () => {
    const [reg, host] = await serve()
    reg.hook = (req, res) => {
      if (!req.url?.includes('/blobs/')) return false
      res.writeHead(200, { 'content-length': 100_000 })
      res.write(Buffer.alloc(10))
      return true // and nothing more
    }
    const opts = pullOpts()
    const started = Date.now()
    await expect(client({ timeout: 2 }).pull(`${host}/binfmt:v1`, opts)).rejects.toMatchObject({ kind: 'unreachable' })
    expect(Date.now() - started).toBeLessThan(6000)
    expect(leftovers(opts.dir)).toEqual([])
  })

  it('retries a connection reset and goes on', async () => {
    const [reg, host] = await serve()
    let resets = 1
    reg.hook = req => {
      if (!req.url?.includes('/blobs/') || resets-- <= 0) return false
      req.socket.destroy()
      return true
    }
    const r = await client().pull(`${host}/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(qemuFiles(HOST))
    expect(resets).toBeLessThan(0)
  })

  it("makes the registry's own words printable and short in the message", async () => {
    const [reg, host] = await serve()
    reg.hook = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ errors: [{ code: 'DENIED\n::error::injected', message: `\u001b[31m${'x'.repeat(5000)}` }] }))
      return true
    }
    const err = (await client()
      .pull(`${host}/binfmt@${image.index.digest}`, pullOpts())
      .catch(e => e)) as Error
    expect(err).toBeInstanceOf(RegistryError)
    expect(err.message).toContain('DENIED\\x0a::error::injected: \\x1b[31mxxx')
    expect(err.message).not.toMatch(/[\n\u001b]/)
    expect(err.message.length).toBeLessThan(400)
  })
})

describe('HTTP only to loopback', () => {
  it.each(['http://registry.example/v2/', 'http://10.0.0.1:5000/v2/', 'ftp://127.0.0.1/v2/'])(
    'refuses %s before sending',
    async url => {
      const t = new Transport()
      await expect(t.request(new URL(url), { method: 'GET' }, Date.now() + 5000)).rejects.toThrow(
        /only a loopback registry may be reached without HTTPS/
      )
    }
  )

  it('refuses a redirect to plain HTTP elsewhere', async () => {
    const [reg, host] = await serve()
    reg.hook = (req, res) => {
      if (!req.url?.includes('/blobs/')) return false
      res.writeHead(307, { location: 'http://blobs.example/data' }).end()
      return true
    }
    const run = client().pull(`${host}/binfmt:v1`, pullOpts())
    await expect(run).rejects.toMatchObject({ kind: 'refused' })
    await expect(run).rejects.toThrow(/refusing http to blobs.example/)
  })
})

describe('auth', () => {
  it('trades a Bearer challenge for a token, sends it only to its own origin, and never shows it', async () => {
    const [reg, host] = await serve()
    const [cdn, cdnHost] = await serve()
    const token = 'secret-token-value-1234'
    reg.hook = (req, res) => {
      const url = new URL(req.url ?? '', 'http://x')
      if (url.pathname === '/token') {
        expect(url.searchParams.get('service')).toBe('fake')
        expect(url.searchParams.get('scope')).toBe('repository:team/binfmt:pull')
        return answered(res.writeHead(200).end(JSON.stringify({ access_token: token })))
      }
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${host}/token",service="fake",scope="repository:team/binfmt:pull"`
        })
        return answered(res.end())
      }
      if (req.url?.includes('/blobs/')) return answered(res.writeHead(307, { location: `http://${cdnHost}${req.url}` }).end())
      return false
    }
    const r = await client().pull(`${host}/team/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(qemuFiles(HOST))
    expect(cdn.seen.length).toBeGreaterThan(0)
    expect(cdn.seen.every(s => s.authorization === undefined)).toBe(true)
    expect(lines.join('\n')).not.toContain(token)
  })

  it('is denied where Basic auth is asked and the Docker config has nothing', async () => {
    const [reg, host] = await serve()
    reg.hook = (_req, res) => answered(res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end())
    const run = client().resolve(`${host}/binfmt:v1`)
    await expect(run).rejects.toMatchObject({ kind: 'denied' })
  })
})

describe('the store', () => {
  it('serves a later pull without the network, and a tampered file in it is fetched again', async () => {
    const [reg, host] = await serve()
    const store = tmp('store')
    const ref = `${host}/binfmt@${image.index.digest}`
    expect((await client({ store }).pull(ref, pullOpts())).from).toBe('source')
    const before = reg.seen.length
    expect((await client({ store }).pull(ref, pullOpts())).from).toBe('store')
    expect(reg.seen.length).toBe(before)

    const layer = path.join(store, 'sha256', hostImage.layers[0].digest.slice(7))
    fs.writeFileSync(layer, Buffer.alloc(hostImage.layers[0].bytes.length))
    const again = await client({ store }).pull(ref, pullOpts())
    expect(again.from).toBe('source')
    expect(contents(again.files)).toEqual(qemuFiles(HOST))
    expect(reg.seen.slice(before).map(s => s.url)).toEqual([`/v2/binfmt/blobs/${hostImage.layers[0].digest}`])
  })

  it("of one pull, given to it, holds exactly the blobs it read: the index, the host's manifest and its layers", async () => {
    const [, host] = await serve()
    const store = tmp('one-pull')
    const r = await client().pull(`${host}/binfmt@${image.index.digest}`, pullOpts({ store }))
    const want = [image.index.digest, hostImage.manifest.digest, ...hostImage.layers.map(l => l.digest)]
    expect([...r.blobs].sort()).toEqual([...want].sort())
    expect(fs.readdirSync(path.join(store, 'sha256')).sort()).toEqual(want.map(d => d.slice(7)).sort())
  })

  describe('offline', () => {
    /** A store filled by a pull of the test image, and the pinned reference. */
    async function filled(): Promise<{ reg: FakeRegistry; store: string; ref: string }> {
      const [reg, host] = await serve()
      const store = tmp('offline')
      const ref = `${host}/binfmt@${image.index.digest}`
      await client().pull(ref, pullOpts({ store }))
      return { reg, store, ref }
    }

    it('takes everything from the store and asks the registry nothing', async () => {
      const { reg, store, ref } = await filled()
      const before = reg.seen.length
      const r = await client().pull(ref, pullOpts({ store, offline: true }))
      expect(r.from).toBe('store')
      expect(contents(r.files)).toEqual(qemuFiles(HOST))
      expect(reg.seen.length).toBe(before)
    })

    it('refuses a blob with other bytes as an IntegrityError, and writes no file', async () => {
      const { reg, store, ref } = await filled()
      const before = reg.seen.length
      const layer = path.join(store, 'sha256', hostImage.layers[1].digest.slice(7))
      fs.writeFileSync(layer, Buffer.alloc(hostImage.layers[1].bytes.length, 7))
      const opts = pullOpts({ store, offline: true })
      const run = client().pull(ref, opts)
      await expect(run).rejects.toThrow(IntegrityError)
      await expect(run).rejects.toThrow(`the stored layer ${hostImage.layers[1].digest} does not match its digest`)
      expect(leftovers(opts.dir)).toEqual([])
      expect(reg.seen.length).toBe(before)
    })

    it('does not hash again a layer given as checked (its writer hashed it), but still checks its size', async () => {
      const { store, ref } = await filled()
      const digest = hostImage.layers[1].digest
      const layer = path.join(store, 'sha256', digest.slice(7))
      const size = hostImage.layers[1].bytes.length
      // other bytes of the same size: taken on the writer's word, so what fails is reading them as a layer
      fs.writeFileSync(layer, Buffer.alloc(size, 7))
      const checked = new Set([digest])
      await expect(client().pull(ref, pullOpts({ store, offline: true, checked }))).rejects.toThrow(
        `could not extract the layer ${digest}`
      )
      fs.writeFileSync(layer, Buffer.alloc(size + 1, 7))
      await expect(client().pull(ref, pullOpts({ store, offline: true, checked }))).rejects.toThrow(
        `the stored layer ${digest} does not match its digest`
      )
    })

    it('refuses an index rewritten to name other manifests', async () => {
      const { store, ref } = await filled()
      const index = path.join(store, 'sha256', image.index.digest.slice(7))
      fs.writeFileSync(index, fs.readFileSync(index, 'utf8').replace(/"schemaVersion":2/, '"schemaVersion": 2'))
      await expect(client().pull(ref, pullOpts({ store, offline: true }))).rejects.toThrow(
        `the stored manifest ${image.index.digest} does not match its digest`
      )
    })

    it('refuses a store that lacks a blob as not found', async () => {
      const { store, ref } = await filled()
      fs.rmSync(path.join(store, 'sha256', hostImage.manifest.digest.slice(7)))
      await expect(client().pull(ref, pullOpts({ store, offline: true }))).rejects.toMatchObject({
        kind: 'not-found',
        message: `the store has no manifest ${hostImage.manifest.digest}`
      })
    })

    it('takes only a pinned reference', async () => {
      const { store } = await filled()
      await expect(client().pull('127.0.0.1:1/binfmt:v1', pullOpts({ store, offline: true }))).rejects.toThrow(
        /is not pinned: nothing can be taken offline/
      )
    })
  })
})

describe('a mirror', () => {
  it('serving other bytes for the digest is passed over for the source, and the log says why', async () => {
    const [, source] = await serve()
    const [mirror, mirrorHost] = await serve()
    mirror.tampered.set(hostImage.layers[0].digest, Buffer.alloc(hostImage.layers[0].bytes.length, 1))
    const r = await client({ mirror: { host: mirrorHost, for: source } }).pull(`${source}/binfmt:v1`, pullOpts())
    expect(r.from).toBe('source')
    expect(r.mirrorFailure).toMatch(/^it served other content: the blob .* does not match its digest/)
    expect(lines.some(l => l.startsWith(`info: the mirror ${mirrorHost} could not be used (it served other content`))).toBe(true)
    expect(contents(r.files)).toEqual(qemuFiles(HOST))
  })

  it('is used when it serves the digest, with its own path prefix', async () => {
    const [src, source] = await serve()
    const [mirror, mirrorHost] = await serve()
    const r = await client({ mirror: { host: `${mirrorHost}/hub`, for: source } }).pull(`${source}/binfmt:v1`, pullOpts())
    expect(r.from).toBe('mirror')
    expect(mirror.seen.some(s => s.url.startsWith('/v2/hub/binfmt/blobs/'))).toBe(true)
    // the tag was resolved at the source, the content fetched from the mirror
    expect(src.seen.map(s => s.method + ' ' + s.url)).toEqual([`HEAD /v2/binfmt/manifests/v1`])
  })

  it('must be a registry host', () => {
    expect(() => client({ mirror: { host: 'https://mirror.example/../x' } })).toThrow(/the mirror is not a registry host/)
    expect(() => client({ mirror: { host: 'mirror.example; rm -rf /' } })).toThrow(InputError)
    expect(() => client({ mirror: { host: 'https://mirror.gcr.io' } })).not.toThrow()
  })

  it('is not used for other registries', async () => {
    const [, source] = await serve()
    const [mirror, mirrorHost] = await serve()
    expect((await client({ mirror: { host: mirrorHost } }).pull(`${source}/binfmt:v1`, pullOpts())).from).toBe('source')
    expect(mirror.seen).toEqual([])
  })

  it('that is down is passed over too', async () => {
    const [, source] = await serve()
    const down = new FakeRegistry()
    const downHost = await down.start()
    await down.stop()
    const r = await client({ mirror: { host: downHost, for: source } }).pull(`${source}/binfmt:v1`, pullOpts())
    expect(r.from).toBe('source')
    expect(r.mirrorFailure).toMatch(/could not reach http:\/\/127\.0\.0\.1/)
  })
})

it('blob() in the test images names its bytes', () => {
  expect(blob('abc', 'x').digest).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})
