import { afterAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { actionsCacheWanted, cacheKey, readSaveState } from '../../src/acquire/actions-cache.js'
import { adoptEntry } from '../../src/acquire/cache.js'

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
    const k = cacheKey(DIGEST, HELPER, 'x64')
    expect(k).toMatch(new RegExp(`^setup-qemu-v1-x64-${DIGEST}-e[0-9a-f]{12}-h${'b'.repeat(64)}$`))
    expect(cacheKey(DIGEST, HELPER, 'arm64')).not.toBe(k)
    expect(cacheKey('c'.repeat(64), HELPER, 'x64')).not.toBe(k)
    expect(cacheKey(DIGEST, 'busybox:latest', 'x64')).toMatch(/-hnone$/)
    expect(k.length).toBeLessThan(512)
    expect(k).not.toContain(',')
  })
})

describe('the state post reads', () => {
  const good = { key: cacheKey(DIGEST, HELPER, 'x64'), sourceKey: DIGEST, helperImage: HELPER, timeout: 600 }
  it('takes what main saved', () => expect(readSaveState(JSON.stringify(good))).toEqual(good))
  it('takes nothing when main saved nothing', () => expect(readSaveState('')).toBeUndefined())
  it.each([
    ['a key of another shape', { ...good, key: 'x; rm -rf /' }],
    ['a source key that is not a digest', { ...good, sourceKey: '../../etc' }],
    ['an unpinned helper', { ...good, helperImage: 'busybox' }],
    ['no timeout', { ...good, timeout: undefined }]
  ])('refuses %s', (_, s) => expect(() => readSaveState(JSON.stringify(s))).toThrow(/not well-formed/))
})

describe('adopting an entry restored from elsewhere', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'adopt-'))
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

  function entry(name: string, files: Record<string, Buffer>, meta: (sha: Record<string, string>) => object): string {
    const dir = path.join(root, name)
    fs.mkdirSync(dir)
    const sha: Record<string, string> = {}
    for (const [f, data] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, f), data, { mode: 0o755 })
      sha[f] = createHash('sha256').update(data).digest('hex')
    }
    fs.writeFileSync(path.join(dir, 'setup-qemu.json'), JSON.stringify(meta(sha)))
    return dir
  }
  const meta = (sha: Record<string, string>): object => ({ key: DIGEST, from: 'x', complete: true, files: {}, sha256: sha })

  it('refuses a file that does not match its recorded SHA-256', async () => {
    const dir = entry('damaged', { 'qemu-aarch64': Buffer.from('one') }, meta)
    fs.writeFileSync(path.join(dir, 'qemu-aarch64'), 'two')
    expect(await adoptEntry(dir, DIGEST)).toEqual({ ok: false, problem: expect.stringMatching(/does not match the SHA-256/) })
  })
  it('refuses an entry for another key', async () => {
    const dir = entry('other', { 'qemu-aarch64': Buffer.from('one') }, meta)
    expect(await adoptEntry(dir, 'f'.repeat(64))).toEqual({ ok: false, problem: 'its metadata names another key' })
  })
  it('refuses files that are not emulators', async () => {
    const dir = entry('strange', { 'qemu-aarch64': Buffer.from('one'), 'not-an-emulator': Buffer.from('') }, meta)
    expect(await adoptEntry(dir, DIGEST)).toMatchObject({ ok: false })
  })
  it('refuses an entry without metadata', async () => {
    const dir = path.join(root, 'bare')
    fs.mkdirSync(dir)
    expect(await adoptEntry(dir, DIGEST)).toEqual({ ok: false, problem: 'it has no readable metadata' })
  })
})
