import { afterAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { actionsCacheWanted, cacheKey, emulatorSet, readSaveState } from '../../src/acquire/actions-cache.js'
import { checkEntry } from '../../src/acquire/cache.js'
import { hostPlatform } from '../../src/acquire/elf.js'
import { byArch } from '../../src/platforms.js'

const DIGEST = 'a'.repeat(64)
const HELPER = `registry.example/busybox:1@sha256:${'b'.repeat(64)}`

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

describe('the key', () => {
  it('names the content, the host arch, the emulator set and the helper', () => {
    const k = cacheKey(DIGEST, HELPER, 'all', 'x64')
    expect(k).toMatch(new RegExp(`^setup-qemu-v1-x64-${DIGEST}-e[0-9a-f]{12}-h${'b'.repeat(64)}$`))
    expect(cacheKey(DIGEST, HELPER, 'all', 'arm64')).not.toBe(k)
    expect(cacheKey('c'.repeat(64), HELPER, 'all', 'x64')).not.toBe(k)
    expect(cacheKey(DIGEST, HELPER, ['qemu-aarch64'], 'x64')).not.toBe(k)
    expect(cacheKey(DIGEST, 'busybox:latest', 'all', 'x64')).toMatch(/-hnone$/)
    expect(k.length).toBeLessThan(512)
    expect(k).not.toContain(',')
  })
})

describe('the emulator set', () => {
  it('is the emulators of the platforms named, once each, whatever the words', () =>
    expect(emulatorSet([byArch('s390x'), byArch('arm'), byArch('arm64')])).toEqual(['qemu-aarch64', 'qemu-arm', 'qemu-s390x']))
  it('or all', () => expect(emulatorSet('all')).toBe('all'))
})

describe('the state post reads', () => {
  const good = {
    key: cacheKey(DIGEST, HELPER, 'all', 'x64'),
    sourceKey: DIGEST,
    emulators: ['qemu-aarch64'],
    helperImage: HELPER,
    timeout: 600
  }
  it('takes what main saved', () => expect(readSaveState(JSON.stringify(good))).toEqual(good))
  it('takes nothing when main saved nothing', () => expect(readSaveState('')).toBeUndefined())
  it.each([
    ['a key of another shape', { ...good, key: 'x; rm -rf /' }],
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
    for (const [f, data] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, f), data, { mode: 0o755 })
      sha[f] = createHash('sha256').update(data).digest('hex')
    }
    fs.writeFileSync(
      path.join(dir, 'setup-qemu.json'),
      JSON.stringify({ key: DIGEST, from: 'x', complete: false, files: {}, sha256: sha })
    )
    return dir
  }

  it('is used when every file is an emulator of this host that matches its SHA-256', async () => {
    const dir = entry('good', { 'qemu-aarch64': program, 'qemu-s390x': program })
    expect(await checkEntry(dir, DIGEST, host)).toMatchObject({
      dir,
      key: DIGEST,
      origin: 'Actions cache',
      archs: new Set(['arm64', 's390x'])
    })
  })
  it('refuses a file that does not match its recorded SHA-256', async () => {
    const dir = entry('damaged', { 'qemu-aarch64': program })
    fs.appendFileSync(path.join(dir, 'qemu-aarch64'), 'x')
    expect(await checkEntry(dir, DIGEST, host)).toMatch(/does not match the SHA-256/)
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
