/**
 * The privilege the helper container asks for. Whether this engine grants --privileged is found out by
 * asking it (this machine's own engine refuses it: its bounding set lacks CAP_SYS_RESOURCE; the dind
 * sidecar's grants it): `privileged: true` then fails saying so, or registers with it. `privileged:
 * false` (least privilege only) works on either.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import type { RunResult } from '../../scripts/runner.mjs'
import { HELPER, IMG, act, clearEntries, containerRuns, docker, entries, useHost } from './host.js'

useHost()

/** What the engine says to a privileged container of the helper image. */
const grantsPrivileged = (): boolean => docker('run', '--rm', '--privileged', IMG['helper-image'], 'true').status === 0

describe('privileged: true', () => {
  let r: RunResult
  let granted = false
  beforeAll(async () => {
    granted = grantsPrivileged()
    clearEntries()
    r = await act('privileged', { platforms: 'arm64', privileged: 'true', ...IMG, ...HELPER }, { post: false })
  })

  it('fails exactly when the engine refuses --privileged', () => expect(r.rc).toBe(granted ? 0 : 1))
  it('says the engine refused the privilege, and names what it tried, when it did', () => {
    if (granted) {
      expect(r.mainLog).not.toContain('refused the helper container the privilege it needs')
    } else {
      expect(r.mainLog).toContain('refused the helper container the privilege it needs')
      expect(r.mainLog).toContain('--privileged: ')
    }
  })
  it('asked for --privileged, not the least privilege', () => expect(r.mainLog).toMatch(/docker run .*--privileged /))
  it('registers arm64 exactly when it was granted', () => {
    expect(entries()).toEqual(granted ? ['qemu-aarch64'] : [])
    expect(containerRuns('arm64')).toBe(granted)
  })
})

describe('privileged: false', () => {
  it('uses least privilege only, and works', async () => {
    clearEntries()
    const r = await act('least', { platforms: 'arm64', privileged: 'false', ...IMG, ...HELPER })
    expect(r.rc).toBe(0)
    expect(r.mainLog).toContain('registering through a helper container: register-from: container')
    expect(r.mainLog).toContain('registered through a helper container with --cap-add SYS_ADMIN')
    expect(r.mainLog).not.toMatch(/docker run .*--privileged /)
  })
})
