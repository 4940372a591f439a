/**
 * What main and post share about the Actions cache: when it is used, the keys (each names the content
 * a pin checks, and the host arch), and the state post reads, checked so a forged state can name no
 * other key and no directory but one main could have made.
 */
import { describe, expect, it } from '@jest/globals'
import * as path from 'node:path'
import { actionsCacheWanted, entryKey, readSaveState } from '../../../src/acquire/actions-cache/keys.js'

const DIGEST = 'a'.repeat(64)

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
  it('name what the entry holds, the content its pin names, and the host arch', () => {
    expect(entryKey('image', DIGEST, 'x64')).toBe(`setup-qemu-v4-x64-image-${DIGEST}`)
    expect(entryKey('tarball', DIGEST, 'arm64')).toBe(`setup-qemu-v4-arm64-tarball-${DIGEST}`)
    expect(entryKey('image', 'b'.repeat(64), 'x64')).not.toBe(entryKey('image', DIGEST, 'x64'))
  })
  it('are made only of a SHA-256', () => {
    expect(() => entryKey('image', 'sha256:' + DIGEST)).toThrow(/not a SHA-256/)
    expect(() => entryKey('image', '../x')).toThrow(/not a SHA-256/)
  })
  it('fit the service', () => {
    const key = entryKey('tarball', DIGEST, 'x64')
    expect(key.length).toBeLessThan(512)
    expect(key).not.toContain(',')
  })
})

describe('the state post reads', () => {
  const temp = '/home/runner/work/_temp'
  const good = {
    key: entryKey('image', DIGEST),
    holds: 'image',
    pin: DIGEST,
    dir: path.join(temp, 'setup-qemu-keep-Ab12Cd'),
    timeout: 600
  }
  it('takes what main saved', () => expect(readSaveState(JSON.stringify(good), temp)).toEqual(good))
  it('takes nothing when main saved nothing', () => expect(readSaveState('', temp)).toBeUndefined())
  it.each([
    ['a key for other content than the pin', { ...good, key: entryKey('image', 'b'.repeat(64)) }],
    ['a key for the other kind of entry', { ...good, key: entryKey('tarball', DIGEST) }],
    ['a key of another shape', { ...good, key: 'x; rm -rf /' }],
    ['a pin that is not a SHA-256', { ...good, pin: '../../etc' }],
    ['an entry of another kind', { ...good, holds: 'helper' }],
    ['a directory outside RUNNER_TEMP', { ...good, dir: '/etc/setup-qemu-keep-Ab12Cd' }],
    ['a directory main never makes', { ...good, dir: path.join(temp, 'repository') }],
    ['a directory below one', { ...good, dir: path.join(temp, 'setup-qemu-keep-Ab12Cd', '..', '..') }],
    ['no timeout', { ...good, timeout: undefined }]
  ])('refuses %s', (_, s) => expect(() => readSaveState(JSON.stringify(s), temp)).toThrow(/not well-formed/))
})
