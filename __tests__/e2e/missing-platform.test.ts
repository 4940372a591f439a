/**
 * A platform the image has no emulator for: the step fails with one annotation for it, and the others
 * are still set up and reported.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import type { RunResult } from '../../scripts/runner.mjs'
import { act, clearEntries, containerRuns, emulatedOf, env, useHost } from './host.js'

useHost()

describe('s390x from an image that lacks it, with arm64', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    r = await act('slim', { platforms: 'arm64,s390x', image: env.SLIM_IMAGE, 'helper-image': env.HELPER_IMAGE })
  })

  it('the step fails', () => expect(r.rc).toBe(1))
  it('an ::error:: for the missing platform says why', () =>
    expect(r.mainLog).toContain('::error title=QEMU s390x::linux/s390x: the source has no qemu-s390x'))
  it('arm64 is still set up and reported', () => expect(r.outputs.emulated).toBe(emulatedOf('linux/arm64')))
  it('output failed names s390x', () => expect(r.outputs.failed).toBe('linux/s390x'))
  it('arm64 runs in a container', () => expect(containerRuns('arm64')).toBe(true))
})
