/**
 * Post's side of the Actions cache, with a stand-in of @actions/cache that archives through the archive
 * functions (as the bundle's library does): what main left is copied, checked against the pin again
 * (an image's blobs from its digest down, a tarball by its SHA-256) and saved only then; what a later
 * step changed there is not saved, with a warning; and what main left is gone afterwards.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { FakeRegistry } from '../registry/fake-registry.js'
import { testImage } from '../registry/images.js'
import { hostPlatform } from '../../../src/platform/host.js'
import { RegistryClient } from '../../../src/acquire/registry/index.js'
import { captureOutput } from '../../helpers/output.js'

const saves: { paths: string[]; key: string; members: string[] }[] = []
jest.unstable_mockModule('@actions/cache', () => ({
  restoreCache: async () => undefined,
  saveCache: async (paths: string[], key: string): Promise<number> => {
    const { createTar, listTar } = await import('../../../src/acquire/actions-cache/archive.js')
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'sq-library-save-'))
    // the library finds the paths relative to the working directory before it archives
    if (!fs.existsSync(paths[0])) throw new Error('Path Validation Error: the path does not exist')
    await createTar(folder, paths, 'gzip')
    const lines: string[] = []
    const { withinScope } = await import('../../../src/acquire/actions-cache/archive.js')
    await withinScope({ dir: folder, only: paths[0], maxBytes: 1 << 30, abandoned: false, debug: m => void lines.push(m) }, () =>
      listTar(path.join(folder, 'cache.tgz'), 'gzip')
    )
    saves.push({ paths, key, members: lines })
    return 1
  }
}))

const { chainProblem, saveEntry } = await import('../../../src/acquire/actions-cache/save.js')
const { entryKey } = await import('../../../src/acquire/actions-cache/keys.js')

const HOST = hostPlatform().platforms[0]
const image = testImage([HOST, HOST === 'linux/s390x' ? 'linux/amd64' : 'linux/s390x'], 'save')
const hostImage = image.images.find(i => i.platform === HOST)!
const PIN = image.index.digest.slice('sha256:'.length)

const made: string[] = []
const tmp = (p: string, base = os.tmpdir()): string => {
  const dir = fs.mkdtempSync(path.join(base, p))
  made.push(dir)
  return dir
}
let registry: FakeRegistry
let host: string
beforeAll(async () => {
  process.env.DOCKER_CONFIG = tmp('sq-save-docker-')
  registry = new FakeRegistry().add(...image.all)
  host = await registry.start()
})
afterAll(async () => {
  await registry.stop()
  for (const d of made) fs.rmSync(d, { recursive: true, force: true })
})

const output = captureOutput()
const saved = { ...process.env }
beforeEach(() => {
  saves.length = 0
  process.env.RUNNER_TEMP = tmp('sq-save-temp-')
})
afterEach(() => {
  jest.restoreAllMocks()
  process.env = { ...saved, DOCKER_CONFIG: process.env.DOCKER_CONFIG }
})

/** What main leaves after pulling the image: its blobs in a keep directory under RUNNER_TEMP. */
async function keptImage(): Promise<string> {
  const keep = tmp('setup-qemu-keep-', process.env.RUNNER_TEMP)
  const client = new RegistryClient({ timeout: 20, log: { info: () => undefined, debug: () => undefined } })
  await client.pull(`${host}/binfmt@${image.index.digest}`, {
    wanted: () => false,
    dir: tmp('sq-save-out-'),
    maxBytes: 1 << 20,
    store: keep
  })
  client.close()
  return keep
}

describe('what chains to the pin', () => {
  it('is a store with every blob from the image digest down', async () => {
    expect(await chainProblem({ holds: 'image', pin: PIN, timeout: 20 }, await keptImage())).toBeUndefined()
  })
  it('is not a store with a layer changed', async () => {
    const keep = await keptImage()
    fs.writeFileSync(
      path.join(keep, 'sha256', hostImage.layers[0].digest.slice(7)),
      Buffer.alloc(hostImage.layers[0].bytes.length)
    )
    expect(await chainProblem({ holds: 'image', pin: PIN, timeout: 20 }, keep)).toBe(
      `the stored layer ${hostImage.layers[0].digest} does not match its digest`
    )
  })
  it('is not a store for another image', async () => {
    expect(await chainProblem({ holds: 'image', pin: 'd'.repeat(64), timeout: 20 }, await keptImage())).toBe(
      `the store has no manifest sha256:${'d'.repeat(64)}`
    )
  })
  it('is a tarball of the pinned SHA-256, and nothing else', async () => {
    const dir = tmp('sq-save-tarball-')
    fs.writeFileSync(path.join(dir, 'qemu.tar.gz'), 'a tarball')
    const sha = createHash('sha256').update('a tarball').digest('hex')
    expect(await chainProblem({ holds: 'tarball', pin: sha, timeout: 20 }, dir)).toBeUndefined()
    expect(await chainProblem({ holds: 'tarball', pin: 'e'.repeat(64), timeout: 20 }, dir)).toBe(
      `its tarball's SHA-256 is ${sha}, not ${'e'.repeat(64)}`
    )
    expect(await chainProblem({ holds: 'tarball', pin: sha, timeout: 20 }, tmp('sq-save-empty-'))).toBe('it holds no tarball')
  })
})

describe('post', () => {
  it('saves the blobs under the key, as the one path the entry holds, and removes what main left', async () => {
    const keep = await keptImage()
    const cwd = process.cwd()
    await saveEntry({ key: entryKey('image', PIN), holds: 'image', pin: PIN, dir: keep, timeout: 20 })
    expect(saves.map(s => [s.paths, s.key])).toEqual([[['setup-qemu-image'], entryKey('image', PIN)]])
    const members = saves[0].members[0]
    for (const b of [image.index, hostImage.manifest, ...hostImage.layers])
      expect(members).toContain(`setup-qemu-image/sha256/${b.digest.slice(7)}`)
    expect(output.text).toContain(`saved to the Actions cache as ${entryKey('image', PIN)}`)
    expect(fs.existsSync(keep)).toBe(false)
    expect(process.cwd()).toBe(cwd)
    expect(fs.readdirSync(process.env.RUNNER_TEMP as string)).toEqual([])
  })

  it('saves nothing that a later step changed, and says so', async () => {
    const keep = await keptImage()
    fs.writeFileSync(path.join(keep, 'sha256', PIN), '{"schemaVersion":2,"manifests":[]}')
    await saveEntry({ key: entryKey('image', PIN), holds: 'image', pin: PIN, dir: keep, timeout: 20 })
    expect(saves).toEqual([])
    expect(output.text).toContain(
      `::warning::the Actions cache entry ${entryKey('image', PIN)} is not saved: what main fetched no longer matches its pin`
    )
    expect(fs.existsSync(keep)).toBe(false)
  })

  it('leaves out links main never made', async () => {
    const keep = await keptImage()
    fs.symlinkSync('/etc/passwd', path.join(keep, 'sha256', 'f'.repeat(64)))
    await saveEntry({ key: entryKey('image', PIN), holds: 'image', pin: PIN, dir: keep, timeout: 20 })
    expect(saves).toHaveLength(1)
    expect(saves[0].members[0]).not.toContain('f'.repeat(64))
  })
})
