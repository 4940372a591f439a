/** Two runs at once with overlapping platforms and one fresh tool cache: both fetch, cache and register. */
import { beforeAll, describe, expect, it } from '@jest/globals'
import type { RunResult } from '../../scripts/runner.mjs'
import { IMG, act, clearEntries, containerRuns, emulatedOf, toolCache, useHost } from './host.js'

useHost()

describe('two runs at once with overlapping platforms', () => {
  let first: RunResult
  let second: RunResult
  beforeAll(async () => {
    clearEntries()
    // a fresh tool cache, so both fetch, cache and register at the same moment
    const options = { env: { RUNNER_TOOL_CACHE: toolCache('concurrency') } }
    ;[first, second] = await Promise.all([
      act('conc1', { platforms: 'arm64,s390x,ppc64le', ...IMG }, options),
      act('conc2', { platforms: 's390x,ppc64le,mips64le', ...IMG }, options)
    ])
  })

  it('the first run passes', () => expect(first.rc).toBe(0))
  it('the second run passes', () => expect(second.rc).toBe(0))
  // each also lists what the other registered when that was there before it verified: either is right
  const reports = (r: RunResult, own: string[], other: string[]): void => {
    const listed = r.outputs.emulated.split(',')
    expect(listed.filter(p => !other.includes(p) || own.includes(p))).toEqual(emulatedOf(...own).split(','))
    expect(listed.every(p => own.includes(p) || other.includes(p))).toBe(true)
  }
  const FIRST = ['linux/arm64', 'linux/s390x', 'linux/ppc64le']
  const SECOND = ['linux/s390x', 'linux/ppc64le', 'linux/mips64le']
  it('the first reports its platforms emulated', () => reports(first, FIRST, SECOND))
  it('the second reports its platforms emulated', () => reports(second, SECOND, FIRST))
  it.each(['arm64', 's390x', 'ppc64el', 'mips64el'])('Debian busybox-static:%s runs in a container after both', deb =>
    expect(containerRuns(deb)).toBe(true)
  )
})
