import { afterAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { actionsCacheWanted, cacheKeys, emulatorSet, readSaveState } from '../../src/acquire/actions-cache.js'
import { checkEntry, exportEntry } from '../../src/acquire/cache.js'
import type { CachedEmulators } from '../../src/acquire/source.js'
import { hostPlatform } from '../../src/acquire/elf.js'
import { byArch } from '../../src/platforms.js'

const DIGEST = 'a'.repeat(64)
const HELPER = `registry.example/busybox:1@sha256:${'b'.repeat(64)}`
/** the same bytes with one changed, as a bad disk leaves a file */
const flipped = (data: Buffer): Buffer => Buffer.concat([data.subarray(0, 100), Buffer.from([data[100] ^ 1]), data.subarray(101)])

describe('whether the Actions cache is used', () => {
  const hosted = { RUNNER_ENVIRONMENT: 'github-hosted', ACTIONS_CACHE_SERVICE_V2: 'true', ACTIONS_RESULTS_URL: 'http://x/' }
  it.each([
    ['a hosted runner with the cache service', true, hosted, true],
    ['cache-image: false', false, hosted, false],
    ['a self-hosted runner (its tool cache stays)', true, { ...hosted, RUNNER_ENVIRONMENT: 'self-hosted' }, false],
    ['no cache service', true, { RUNNER_ENVIRONMENT: 'github-hosted', ACTIONS_CACHE_SERVICE_V2: 'true' }, false],
    ['the older service', true, { RUNNER_ENVIRONMENT: 'github-hosted', ACTIONS_CACHE_URL: 'http://x/' }, true]
  ])('%s', (_, useCache, env, want) => expect(actionsCacheWanted(useCache, env)).toBe(want))
})

describe('the keys', () => {
  const k = cacheKeys(DIGEST, HELPER, 'all', 'x64')
  it('of the emulators name the content, the host arch and the emulator set', () => {
    expect(k.emulators).toMatch(new RegExp(`^setup-qemu-v2-x64-${DIGEST}-e[0-9a-f]{12}$`))
    expect(cacheKeys(DIGEST, HELPER, 'all', 'arm64').emulators).not.toBe(k.emulators)
    expect(cacheKeys('c'.repeat(64), HELPER, 'all', 'x64').emulators).not.toBe(k.emulators)
    expect(cacheKeys(DIGEST, HELPER, ['qemu-aarch64'], 'x64').emulators).not.toBe(k.emulators)
  })
  it('of the helper name its digest and the host arch, whatever the emulators', () => {
    expect(k.helper).toBe(`setup-qemu-v2-x64-helper-${'b'.repeat(64)}`)
    expect(cacheKeys('c'.repeat(64), HELPER, ['qemu-arm'], 'x64').helper).toBe(k.helper)
    expect(cacheKeys(DIGEST, HELPER, 'all', 'arm64').helper).not.toBe(k.helper)
  })
  it('leave out a helper that is not pinned', () =>
    expect(cacheKeys(DIGEST, 'busybox:latest', 'all', 'x64').helper).toBeUndefined())
  it('fit the service', () => {
    for (const key of [k.emulators, k.helper ?? '']) {
      expect(key.length).toBeLessThan(512)
      expect(key).not.toContain(',')
    }
  })
})

describe('the emulator set', () => {
  it('is the emulators of the platforms named, once each, whatever the words', () =>
    expect(emulatorSet([byArch('s390x'), byArch('arm'), byArch('arm64')])).toEqual(['qemu-aarch64', 'qemu-arm', 'qemu-s390x']))
  it('or all', () => expect(emulatorSet('all')).toBe('all'))
})

describe('the state post reads', () => {
  const keys = cacheKeys(DIGEST, HELPER, 'all', 'x64')
  const good = {
    emulatorsKey: keys.emulators,
    sourceKey: DIGEST,
    emulators: ['qemu-aarch64'],
    helperKey: keys.helper,
    helperImage: HELPER,
    timeout: 600
  }
  it('takes what main saved', () => expect(readSaveState(JSON.stringify(good))).toEqual(good))
  it('takes one entry missed of the two', () => {
    const helperOnly = { sourceKey: DIGEST, helperKey: keys.helper, helperImage: HELPER, timeout: 600 }
    expect(readSaveState(JSON.stringify(helperOnly))).toEqual(helperOnly)
  })
  it('takes nothing when main saved nothing', () => expect(readSaveState('')).toBeUndefined())
  it.each([
    ['a key of another shape', { ...good, emulatorsKey: 'x; rm -rf /' }],
    ['a helper key of another shape', { ...good, helperKey: '../x' }],
    ['a helper key without its image', { ...good, helperImage: undefined }],
    ['a source key that is not a digest', { ...good, sourceKey: '../../etc' }],
    ['an unpinned helper', { ...good, helperImage: 'busybox' }],
    ['no timeout', { ...good, timeout: undefined }],
    ['a file that is not an emulator', { ...good, emulators: ['../../x'] }]
  ])('refuses %s', (_, s) => expect(() => readSaveState(JSON.stringify(s))).toThrow(/not well-formed/))
})

describe('an entry restored from elsewhere', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'restored-'))
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
  // a real executable of this host stands in for an emulator: the checks are of content and ELF header
  const program = fs.readFileSync(process.execPath).subarray(0, 4096)
  const host = hostPlatform()

  function entry(name: string, files: Record<string, Buffer>): string {
    const dir = path.join(root, name)
    fs.mkdirSync(dir)
    const sha: Record<string, string> = {}
    const sizes: Record<string, number> = {}
    for (const [f, data] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, f), data, { mode: 0o755 })
      sha[f] = createHash('sha256').update(data).digest('hex')
      sizes[f] = data.length
    }
    fs.writeFileSync(
      path.join(dir, 'setup-qemu.json'),
      JSON.stringify({ key: DIGEST, from: 'x', complete: false, files: sizes, sha256: sha })
    )
    return dir
  }

  it('is used when every file is an emulator of this host, of the size recorded', async () => {
    const dir = entry('good', { 'qemu-aarch64': program, 'qemu-s390x': program })
    expect(await checkEntry(dir, DIGEST, host)).toMatchObject({
      dir,
      key: DIGEST,
      origin: 'Actions cache',
      archs: new Set(['arm64', 's390x'])
    })
  })
  it('refuses a file that is not the size recorded', async () => {
    const dir = entry('damaged', { 'qemu-aarch64': program })
    fs.appendFileSync(path.join(dir, 'qemu-aarch64'), 'x')
    expect(await checkEntry(dir, DIGEST, host)).toMatch(/not the size recorded/)
  })
  it('refuses a file that is not a program for this host', async () => {
    const dir = entry('text', { 'qemu-aarch64': Buffer.from('#!/bin/sh\n') })
    expect(await checkEntry(dir, DIGEST, host)).toMatch(/^qemu-aarch64 is /)
  })
  it('refuses an entry for another key', async () => {
    const dir = entry('other', { 'qemu-aarch64': program })
    expect(await checkEntry(dir, 'f'.repeat(64), host)).toBe('its metadata names another key')
  })
  it('refuses files that are not emulators', async () => {
    const dir = entry('strange', { 'qemu-aarch64': program, 'not-an-emulator': program })
    expect(await checkEntry(dir, DIGEST, host)).toBe('it holds files that are not emulators')
  })
  it('refuses an entry without metadata', async () => {
    const dir = path.join(root, 'bare')
    fs.mkdirSync(dir)
    expect(await checkEntry(dir, DIGEST, host)).toBe('it has no readable metadata')
  })
})

describe('what is saved to the Actions cache', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'export-'))
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
  const program = fs.readFileSync(process.execPath).subarray(0, 4096)
  const host = hostPlatform()

  /** a tool cache entry holding program as qemu-aarch64 and qemu-s390x, hashed when stored */
  function toolCacheEntry(name: string): string {
    const dir = path.join(root, name)
    fs.mkdirSync(dir)
    const sha = createHash('sha256').update(program).digest('hex')
    for (const f of ['qemu-aarch64', 'qemu-s390x']) fs.writeFileSync(path.join(dir, f), program, { mode: 0o755 })
    fs.writeFileSync(
      path.join(dir, 'setup-qemu.json'),
      JSON.stringify({
        key: DIGEST,
        from: 'x',
        complete: true,
        files: { 'qemu-aarch64': program.length, 'qemu-s390x': program.length },
        sha256: { 'qemu-aarch64': sha, 'qemu-s390x': sha }
      })
    )
    return dir
  }
  const cached = (dir: string): CachedEmulators => ({
    dir,
    key: DIGEST,
    archs: new Set(['arm64', 's390x']),
    complete: true,
    from: 'x',
    origin: 'tool cache'
  })

  it('is the emulators named, with metadata for just them, ready to be restored', async () => {
    const out = path.join(root, 'out-good')
    expect(await exportEntry(cached(toolCacheEntry('good')), ['qemu-aarch64'], out, host)).toBeUndefined()
    expect(fs.readdirSync(out).sort()).toEqual(['qemu-aarch64', 'setup-qemu.json'])
    expect(await checkEntry(out, DIGEST, host)).toMatchObject({ archs: new Set(['arm64']) })
  })
  it('is nothing when a file no longer matches its SHA-256, though its size does', async () => {
    const dir = toolCacheEntry('flipped')
    fs.writeFileSync(path.join(dir, 'qemu-s390x'), flipped(program), { mode: 0o755 })
    expect(await exportEntry(cached(dir), ['qemu-aarch64', 'qemu-s390x'], path.join(root, 'out-flipped'), host)).toMatch(
      /qemu-s390x does not match the SHA-256/
    )
    expect(fs.existsSync(path.join(root, 'out-flipped', 'setup-qemu.json'))).toBe(false)
  })
})
