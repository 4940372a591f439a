/**
 * The extension seams: an engine and a source are each one entry in one table, and everything that
 * chooses among them (the factory, the input check, the known-bad advice, post's sweep) reads that table.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { SOURCES, SOURCE_KINDS, createSource } from '../src/acquire/index.js'
import { DownloadSource } from '../src/acquire/download.js'
import { ImageSource } from '../src/acquire/image.js'
import { pinInstead } from '../src/acquire/known-bad-qemu.js'
import type { SourceInputs } from '../src/acquire/source.js'
import { Docker } from '../src/engine/docker.js'
import type { Engine } from '../src/engine/engine.js'
import { ENGINE, createEngine, engine, localEngine } from '../src/factory.js'
import { sweepLeftovers } from '../src/post/post.js'

const saved = { ...process.env }
afterEach(() => {
  process.env = { ...saved }
  jest.restoreAllMocks()
})

/** An engine that answers nothing: the sources here must not reach it while they are made. */
const silentEngine = (): Engine & { removed: (string | undefined)[] } => {
  const removed: (string | undefined)[] = []
  const refuse = (): never => {
    throw new Error('the engine was asked')
  }
  return {
    removed,
    info: refuse,
    call: refuse,
    ensureImage: refuse,
    copyOut: refuse,
    removeOwnContainers: (run?: string) => (removed.push(run), 3)
  }
}

const inputs: SourceInputs = {
  image: `registry.example/binfmt:x@sha256:${'a'.repeat(64)}`,
  registryMirror: '',
  downloadUrl: 'https://example.invalid/qemu-{arch}.tar.gz',
  downloadSha256: 'b'.repeat(64),
  cacheImage: false,
  timeout: 30
}

describe('one table of sources', () => {
  it('is what the source input accepts, in its order', () => {
    expect(SOURCE_KINDS).toEqual(Object.keys(SOURCES))
    expect(SOURCE_KINDS).toEqual(['image', 'download'])
  })

  it('makes each kind from its line, with the engine it is given', () => {
    const e = silentEngine()
    const image = createSource({ ...inputs, source: 'image' }, e, '/nonexistent')
    expect(image).toBeInstanceOf(ImageSource)
    expect(image.from).toBe(inputs.image)
    expect(image.contentKey).toBe('a'.repeat(64))
    const download = createSource({ ...inputs, source: 'download' }, e, '/nonexistent')
    expect(download).toBeInstanceOf(DownloadSource)
    expect(download.contentKey).toBe('b'.repeat(64))
    expect(download.from).toMatch(/^https:\/\/example\.invalid\/qemu-[a-z0-9_]+\.tar\.gz$/)
  })

  it("runs a source's own input checks as it is made", () => {
    expect(() => createSource({ ...inputs, downloadSha256: '', source: 'download' }, silentEngine(), '/nonexistent')).toThrow(
      /^download-url is set but download-sha256 is not/
    )
  })

  it('asks the Actions cache only on a hosted runner that keeps a cache', () => {
    process.env.RUNNER_ENVIRONMENT = 'github-hosted'
    process.env.ACTIONS_CACHE_URL = 'http://127.0.0.1:9/'
    delete process.env.ACTIONS_CACHE_SERVICE_V2
    const create = jest.spyOn(SOURCES.download, 'create')
    createSource({ ...inputs, cacheImage: true, source: 'download' }, silentEngine(), '/nonexistent')
    createSource({ ...inputs, cacheImage: false, source: 'download' }, silentEngine(), '/nonexistent')
    expect(create.mock.calls.map(([c]) => c.actions !== undefined)).toEqual([true, false])
  })

  it("gives each kind's own advice for emulators known to break builds", () => {
    for (const kind of SOURCE_KINDS) expect(pinInstead(kind)).toBe(SOURCES[kind].pinInstead)
    expect(new Set(SOURCE_KINDS.map(pinInstead)).size).toBe(SOURCE_KINDS.length)
  })
})

describe('one table of engines', () => {
  it('makes the run engine from its line', () => {
    expect(ENGINE).toBe('docker')
    expect(createEngine(ENGINE, { timeout: 5 })).toBeInstanceOf(Docker)
    expect(engine(5)).toBeInstanceOf(Docker)
    expect(localEngine()).toBeInstanceOf(Docker)
  })

  it("post sweeps a killed main's containers through the engine, by its run", () => {
    process.env.STATE_run = '4242-a1b2c3'
    const e = silentEngine()
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
    sweepLeftovers(e)
    expect(e.removed).toEqual(['4242-a1b2c3'])
  })

  it('asks no engine when main left nothing', () => {
    delete process.env.STATE_run
    const e = silentEngine()
    sweepLeftovers(e)
    expect(e.removed).toEqual([])
  })
})
