/**
 * `all`, and a native platform asked for: every platform the image has an emulator for is registered but
 * the native ones, and a native platform asked for is reported, not registered, and not an error.
 * Platforms that work through entries already there are usable, and listed, whoever added them.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import {
  BM,
  IMG,
  MAGIC,
  SIBLING,
  SIBLING_PLATFORM,
  act,
  clearEntries,
  containerRuns,
  cpuOf,
  emulatedOf,
  entries,
  hostRuns,
  isNative,
  nativeEntries,
  platformsOf,
  register,
  toolCache,
  TABLE,
  useHost
} from './host.js'

useHost()

const TC = toolCache('all-and-native')
// every platform the test image has an emulator for: all but amd64 (it has no qemu-x86_64)
const IMAGE_HAS = TABLE.filter(p => p !== 'linux/amd64')
const siblingEmulated = SIBLING !== '' && !isNative(SIBLING_PLATFORM)
const DEBS = ['ppc64el', 'mips64el', ...(siblingEmulated ? [SIBLING] : [])]

describe('platforms: all', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    r = await act('all', { platforms: 'all', ...IMG }, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('exits 0', () => expect(r.rc).toBe(0))
  it('output platforms has every platform the image has, native ones first', () =>
    expect(r.outputs.platforms).toBe(platformsOf(...IMAGE_HAS)))
  it('output emulated has every platform the image has but the native ones', () =>
    expect(r.outputs.emulated).toBe(emulatedOf(...IMAGE_HAS)))
  it(`no entry is registered for a native format (${nativeEntries().join(' ')})`, () =>
    expect(entries().filter(e => nativeEntries().includes(e))).toEqual([]))
  if (siblingEmulated)
    it(`${SIBLING_PLATFORM} is not native here: qemu-${cpuOf(SIBLING_PLATFORM)} is registered`, () =>
      expect(entries()).toContain(`qemu-${cpuOf(SIBLING_PLATFORM)}`))
  it.each(DEBS)('Debian busybox-static:%s runs on the host', deb => expect(hostRuns(deb)).toBe(true))
  it.each(DEBS)('Debian busybox-static:%s runs in a container', deb => expect(containerRuns(deb)).toBe(true))
})

describe('a native platform asked for with a foreign one', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    r = await act('native', { platforms: 'amd64,arm64', ...IMG }, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('is not an error', () => expect(r.rc).toBe(0))
  it('the log says it runs natively, with no annotation', () =>
    expect(r.mainLog).toContain('linux/amd64 runs natively on this host: nothing to register for it'))
  it('there is no notice', () => expect(r.mainLog).not.toContain('::notice::'))
  it('it is in output platforms, not registered', () =>
    expect(r.outputs.platforms).toBe(platformsOf('linux/amd64', 'linux/arm64')))
  it('only arm64 is emulated', () => expect(r.outputs.emulated).toBe(emulatedOf('linux/amd64', 'linux/arm64')))
})

describe('platforms that already work through entries this step did not add', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    const earlier = await act('earlier', { platforms: 's390x,ppc64le', ...IMG }, { env: { RUNNER_TOOL_CACHE: TC } })
    expect(earlier.rc).toBe(0)
    // one of them broken since: its entry stays, its programs no longer run
    fs.writeFileSync(path.join(BM, 'qemu-ppc64le'), '-1')
    register(`:qemu-ppc64le:M::${MAGIC.ppc64le}:${MAGIC.mask}:/nonexistent/qemu-ppc64le:`)
    r = await act('later', { platforms: 'arm64', ...IMG }, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('exits 0', () => expect(r.rc).toBe(0))
  it('output platforms lists the one that works, proven by its probe', () =>
    expect(r.outputs.platforms).toBe(platformsOf('linux/arm64', 'linux/s390x')))
  it('output emulated too', () => expect(r.outputs.emulated).toBe(emulatedOf('linux/arm64', 'linux/s390x')))
  it('the log says it was not asked for', () => expect(r.mainLog).toMatch(/linux\/s390x: ok, not asked for/))
  it('nothing was registered for them', () => expect(entries()).toEqual(['qemu-aarch64', 'qemu-ppc64le', 'qemu-s390x']))
})
