/**
 * `all`, and a native platform asked for: every platform the image has an emulator for is registered but
 * the native ones, and a native platform asked for is reported, not registered, and not an error.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import type { RunResult } from '../../scripts/runner.mjs'
import {
  IMG,
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
