/**
 * The FetchingSource base on a source of its own: what every fetching source gets from it (the tool
 * cache first, the Actions cache restore on a miss, the shaping, checking and storing of what was
 * fetched), with nothing of the image's or the tarball's own.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Holds } from '../../src/acquire/actions-cache/keys.js'
import type { ActionsCache } from '../../src/acquire/actions-cache/restore.js'
import { findCached } from '../../src/acquire/tool-cache/read.js'
import { FetchingSource, type Fetched } from '../../src/acquire/fetching.js'
import type { CachedEmulators, Emulators } from '../../src/acquire/source.js'
import { PLATFORMS, byArch, emulatorName, type Platform } from '../../src/platform/platforms.js'
import { fromNodeArch } from '../../src/platform/arch.js'
import { buildProbe } from '../../src/platform/elf.js'
import { tempDirs } from '../helpers/tmp.js'
import { settled } from '../helpers/settled.js'

const host = fromNodeArch(process.arch) as Platform
const foreign = PLATFORMS.find(p => p.family !== host.family) as Platform
const tmp = tempDirs()

let workDir = ''
beforeEach(() => {
  process.env.RUNNER_TOOL_CACHE = tmp('toolcache')
  workDir = tmp('work')
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterEach(() => {
  jest.restoreAllMocks()
})

/** A source whose fetch writes the files it is told to into a new directory, and counts its calls. */
class Made extends FetchingSource {
  readonly from = 'made.example/emulators'
  fetches: { wanted: 'all' | readonly Platform[]; cached?: CachedEmulators }[] = []

  constructor(
    readonly contentKey: string | undefined,
    private readonly files: Record<string, Buffer | string>,
    opts: { useCache: boolean; actions?: ActionsCache },
    private readonly complete = true
  ) {
    super({ workDir, timeout: 5, ...opts }, 'tarball')
  }

  protected cacheKey(): Promise<string | undefined> {
    return Promise.resolve(this.contentKey)
  }

  protected async fetch(wanted: 'all' | readonly Platform[], cached: CachedEmulators | undefined): Promise<Fetched> {
    this.fetches.push({ wanted, cached })
    const dir = fs.mkdtempSync(path.join(workDir, 'made-'))
    for (const [name, body] of Object.entries(this.files)) fs.writeFileSync(path.join(dir, name), body, { mode: 0o755 })
    return { dir, key: this.contentKey ?? 'unkeyed', origin: 'made', complete: this.complete }
  }

  protected noEmulators(h: Platform): string {
    return `nothing made runs on this ${h.cpu} host`
  }
}

/** A stand-in Actions cache that records what it is asked to restore, and restores nothing. */
function restores(): { cache: ActionsCache; asked: [Holds, string][] } {
  const asked: [Holds, string][] = []
  const cache = { restore: async (holds: Holds, pin: string) => (asked.push([holds, pin]), undefined) } as unknown as ActionsCache
  return { cache, asked }
}

const elf = (): Buffer => Buffer.concat([buildProbe(host), Buffer.alloc(4096, 1)])
const arm = byArch('arm64')
const s390 = byArch('s390x')

describe('a fetching source', () => {
  it('keeps only the emulators that run on this host, and stores them in the tool cache under its key', async () => {
    const key = '1'.repeat(64)
    const source = new Made(
      key,
      { [emulatorName(arm)]: elf(), [emulatorName(s390)]: elf(), README: 'not an emulator' },
      { useCache: true }
    )
    const e: Emulators = await settled(source.acquire('all'))
    expect(fs.readdirSync(e.dir).sort()).toEqual([emulatorName(arm), emulatorName(s390)].sort())
    expect(e).toMatchObject({ key, origin: 'made', from: 'made.example/emulators' })
    expect([...e.archs].sort()).toEqual(['arm64', 's390x'])
    const stored = await findCached(key)
    expect(stored).toMatchObject({ key, complete: true, origin: 'tool cache' })
  })

  it('is served from the tool cache after that, without fetching, and says where from', async () => {
    const key = '2'.repeat(64)
    await settled(new Made(key, { [emulatorName(arm)]: elf() }, { useCache: true }).acquire('all'))
    const later = new Made(key, {}, { useCache: true })
    expect(later.cached()).toBe(later.cached())
    const e = await settled(later.acquire([arm]))
    expect(later.fetches).toEqual([])
    expect(e.origin).toBe('tool cache')
    expect(path.relative(workDir, e.dir).startsWith('..')).toBe(false)
  })

  it('stores a partial fetch as partial, and hands its fetch what the cache had so it can grow it', async () => {
    const key = '3'.repeat(64)
    await settled(new Made(key, { [emulatorName(arm)]: elf() }, { useCache: true }, false).acquire([arm]))
    expect((await findCached(key))?.complete).toBe(false)
    const more = new Made(key, { [emulatorName(arm)]: elf(), [emulatorName(s390)]: elf() }, { useCache: true }, false)
    await settled(more.acquire([s390]))
    expect(more.fetches).toHaveLength(1)
    expect([...(more.fetches[0].cached?.archs ?? [])]).toEqual(['arm64'])
    expect([...((await findCached(key))?.archs ?? [])].sort()).toEqual(['arm64', 's390x'])
  })

  it("fails with the source's own words when nothing fetched runs on this host", async () => {
    const source = new Made('4'.repeat(64), { [emulatorName(foreign)]: buildProbe(foreign), notes: 'x' }, { useCache: true })
    await expect(source.acquire('all')).rejects.toThrow(`nothing made runs on this ${host.cpu} host`)
    expect(await findCached('4'.repeat(64))).toBeUndefined()
  })

  it('with useCache false, neither looks in nor stores to the tool cache', async () => {
    const key = '5'.repeat(64)
    await settled(new Made(key, { [emulatorName(arm)]: elf() }, { useCache: true }).acquire('all'))
    const source = new Made(key, { [emulatorName(arm)]: elf() }, { useCache: false })
    expect(await source.cached()).toBeUndefined()
    const e = await settled(source.acquire('all'))
    expect(source.fetches).toHaveLength(1)
    expect(e.origin).toBe('made')
  })

  it('starts the Actions cache restore when the tool cache misses, for what its entry holds and its key', async () => {
    const a = restores()
    await new Made('6'.repeat(64), {}, { useCache: true, actions: a.cache }).cached()
    expect(a.asked).toEqual([['tarball', '6'.repeat(64)]])
  })

  it('asks no cache before its key is known', async () => {
    const a = restores()
    const source = new Made(undefined, { [emulatorName(arm)]: elf() }, { useCache: true, actions: a.cache })
    expect(await source.cached()).toBeUndefined()
    expect(a.asked).toEqual([])
    expect((await settled(source.acquire('all'))).origin).toBe('made')
  })

  it('does not ask the Actions cache when the tool cache holds everything', async () => {
    const key = '7'.repeat(64)
    await settled(new Made(key, { [emulatorName(arm)]: elf() }, { useCache: true }).acquire('all'))
    const a = restores()
    expect((await new Made(key, {}, { useCache: true, actions: a.cache }).cached())?.complete).toBe(true)
    expect(a.asked).toEqual([])
  })
})
