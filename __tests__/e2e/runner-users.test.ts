/**
 * As an unprivileged user in the docker group, like GitHub's runner user: with sudo the action mounts
 * binfmt_misc itself and registers from the runner; without sudo it goes through the engine, which cannot
 * keep entries where nothing on its host has binfmt_misc mounted, and says how to mount it; it works where
 * it is mounted, through a helper container.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import type { RunResult } from '../../scripts/runner.mjs'
import { BM, IMG, actAs, clearEntries, containerRuns, emulatedOf, hostRuns, keptElsewhere, mounted, useHost } from './host.js'

useHost()

const unmount = (): void => {
  clearEntries()
  if (mounted()) execFileSync('umount', [BM])
}

describe('a user with sudo, on a host where binfmt_misc is not mounted', () => {
  let r: RunResult
  beforeAll(async () => {
    unmount()
    r = await actAs('qemu-e2e', 'user', { platforms: 'arm64,s390x', ...IMG })
  })

  it('main exits 0', () => expect(r.rc).toBe(0))
  it('it mounted binfmt_misc with sudo', () => expect(r.mainLog).toContain('mounted binfmt_misc (sudo -n mount -t binfmt_misc'))
  it('it registered from the runner itself, with sudo', () =>
    expect(r.mainLog).toContain('registering from the runner itself: passwordless sudo'))
  it('output emulated', () => expect(r.outputs.emulated).toBe(emulatedOf('linux/arm64', 'linux/s390x')))
  it('arm64 runs on the host', () => expect(hostRuns('arm64')).toBe(true))
  it('s390x runs in a container', () => expect(containerRuns('s390x')).toBe(true))
})

describe('a user without sudo, on a host where binfmt_misc is not mounted', () => {
  let r: RunResult
  // where another mount namespace keeps the kernel's instance (the dind tier's tests run in one of their
  // own, and the host's may have it mounted), the helper's entries stay: the step then works
  let kept = false
  beforeAll(async () => {
    unmount()
    kept = keptElsewhere()
    r = await actAs('qemu-e2e-nosudo', 'nosudo', { platforms: 'arm64', ...IMG })
  })

  it('the step fails exactly when nothing keeps the entries', () => expect(r.rc).toBe(kept ? 0 : 1))
  it('it says how to mount binfmt_misc, when it failed', () => {
    const advice = 'Run `sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc` before this step'
    if (kept) expect(r.mainLog).not.toContain(advice)
    else expect(r.mainLog).toContain(advice)
  })
  it('it tried through the engine, and says when the engine no longer showed the entry', () => {
    expect(r.mainLog).toContain('binfmt_misc is read and written through the engine')
    const lost = "once it had exited the engine's binfmt_misc no longer showed it"
    if (kept) expect(r.mainLog).not.toContain(lost)
    else expect(r.mainLog).toContain(lost)
  })
  it('binfmt_misc is still not mounted here', () => expect(mounted()).toBe(false))
})

describe('a user without sudo, on a host where binfmt_misc is mounted', () => {
  let r: RunResult
  beforeAll(async () => {
    unmount()
    execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BM])
    r = await actAs('qemu-e2e-nosudo', 'nosudo2', { platforms: 'arm64', ...IMG })
  })

  it('main exits 0', () => expect(r.rc).toBe(0))
  it('it registered through a helper container, saying why', () =>
    expect(r.mainLog).toMatch(/registering through a helper container: not root, and no passwordless sudo \(/))
  it('arm64 runs in a container', () => expect(containerRuns('arm64')).toBe(true))
})
