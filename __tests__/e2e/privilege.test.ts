/**
 * The privilege the helper container asks for: this engine refuses --privileged, so `privileged: true`
 * fails saying so, and `privileged: false` (least privilege only) works.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import type { RunResult } from '../../scripts/runner.mjs'
import { HELPER, IMG, act, clearEntries, entries, useHost } from './host.js'

useHost()

describe('privileged: true, on an engine that refuses --privileged', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    r = await act('privileged', { platforms: 'arm64', privileged: 'true', ...IMG, ...HELPER })
  })

  it('fails', () => expect(r.rc).toBe(1))
  it('says the engine refused the privilege', () =>
    expect(r.mainLog).toContain('refused the helper container the privilege it needs'))
  it('names what it tried', () => expect(r.mainLog).toContain('--privileged: '))
  it('registers nothing', () => expect(entries()).toEqual([]))
})

describe('privileged: false', () => {
  it('uses least privilege only, and works', async () => {
    clearEntries()
    const r = await act('least', { platforms: 'arm64', privileged: 'false', ...IMG, ...HELPER })
    expect(r.rc).toBe(0)
    expect(r.mainLog).toContain('registering through a helper container: register-from: container')
    expect(r.mainLog).toContain('registered through a helper container with --cap-add SYS_ADMIN')
  })
})
