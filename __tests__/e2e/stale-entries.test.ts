/**
 * Entries a distro or another tool left: a stale Debian-style entry is replaced and cleanup puts it
 * back byte for byte; a healthy F entry is kept; reset removes the other qemu-* entries and cleanup
 * restores them; a post step reaches the engine main used, whatever DOCKER_HOST says by then, and one that
 * cannot reach it warns and does not fail the job.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import type { RunResult } from '../../scripts/runner.mjs'
import {
  BM,
  HELPER,
  IMG,
  MAGIC,
  act,
  actAs,
  clearEntries,
  containerRuns,
  entries,
  forwarder,
  hostRuns,
  register,
  snapshot,
  useHost
} from './host.js'

useHost()

/** Debian's style: no F, an interpreter path no container has; and one of them switched off. */
function debianEntries(): void {
  clearEntries()
  register(`:qemu-aarch64:M::${MAGIC.arm64}:${MAGIC.mask}:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:P`)
  register(`:qemu-riscv64:M::${MAGIC.riscv64}:${MAGIC.mask}:/usr/libexec/qemu-binfmt/riscv64-binfmt-P:P`)
  fs.writeFileSync(`${BM}/qemu-riscv64`, '0')
}

describe('stale Debian-style entries without F, replaced, and put back by cleanup', () => {
  let r: RunResult
  let stale: string
  const before = { hostRuns: false, containerRuns: true }
  beforeAll(async () => {
    debianEntries()
    stale = snapshot()
    before.hostRuns = hostRuns('arm64')
    before.containerRuns = containerRuns('arm64')
    r = await act('stale', { platforms: 'arm64,riscv64,s390x', cleanup: 'true', ...IMG })
  })

  it('the stale entry works on the host', () => expect(before.hostRuns).toBe(true))
  it('the stale entry does not work in a container', () => expect(before.containerRuns).toBe(false))
  it('main exits 0', () => expect(r.rc).toBe(0))
  it('it says why it replaced the entry without F', () => expect(r.mainLog).toContain('replacing qemu-aarch64: it has no F flag'))
  it('it says why it replaced the disabled entry', () => expect(r.mainLog).toContain('replacing qemu-riscv64: it is disabled'))
  it('post removed what it added', () => expect(r.postLog).toContain('remove qemu-s390x: ok'))
  it('post restored what it replaced', () => expect(r.postLog).toContain('restore qemu-aarch64: ok'))
  it('binfmt_misc is byte for byte as before', () => expect(snapshot()).toBe(stale))
  it('the post step succeeded', () => expect(r.postRc).toBe(0))
})

describe('a healthy F entry whose emulator the host can see', () => {
  let healthy: string
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    register(`:qemu-aarch64:M::${MAGIC.arm64}:${MAGIC.mask}:/usr/bin/qemu-aarch64-static:OCF`)
    healthy = snapshot()
    r = await act('healthy', { platforms: 'arm64', ...IMG })
  })

  it('passes', () => expect(r.rc).toBe(0))
  it('is kept, saying so', () =>
    expect(r.mainLog).toContain('linux/arm64: keep (kept the healthy entry there (/usr/bin/qemu-aarch64-static))'))
  it('is probed chrooted into an empty directory', () =>
    expect(r.mainLog).toContain('host probe + probe chrooted into an empty directory'))
  it('is untouched', () => expect(snapshot()).toBe(healthy))
  it('is probed in an empty root through sudo, as a user with sudo', async () => {
    const u = await actAs('qemu-e2e', 'healthy-sudo', { platforms: 'arm64', ...IMG })
    expect(u.mainLog).toContain('host probe + probe chrooted into an empty directory')
  })
  it('passes as a user without sudo, saying the F flag was all it could check', async () => {
    const u = await actAs('qemu-e2e-nosudo', 'healthy-nosudo', { platforms: 'arm64', ...IMG })
    expect(u.rc).toBe(0)
    expect(u.mainLog).toContain('F flag set (no chroot here to run it in an empty root)')
  })
  it('arm64 runs in a container', () => expect(containerRuns('arm64')).toBe(true))
})

describe('reset with cleanup', () => {
  let stale: string
  let main: RunResult
  let left: string[]
  beforeAll(async () => {
    debianEntries()
    stale = snapshot()
    const inputs = { platforms: 'arm64', reset: 'true', cleanup: 'true', ...IMG }
    main = await act('reset', inputs, { post: false })
    left = entries()
    await act('reset', inputs, { post: 'only' })
  })

  it('main exits 0', () => expect(main.rc).toBe(0))
  it('only the requested entry is left after main', () => expect(left).toEqual(['qemu-aarch64']))
  it('post puts every removed entry back', () => expect(snapshot()).toBe(stale))
})

describe('a post step whose job has pointed DOCKER_HOST elsewhere since main', () => {
  let post: RunResult
  beforeAll(async () => {
    clearEntries()
    const inputs = { platforms: 'arm64', cleanup: 'true', ...IMG, ...HELPER }
    await act('post-endpoint', inputs, { post: false })
    post = await act('post-endpoint', inputs, { post: 'only', env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } })
  })

  it('reaches the engine main used, and cleans up', () => {
    expect(post.postRc).toBe(0)
    expect(post.postLog).not.toContain('::warning')
    expect(post.postLog).toContain('remove qemu-aarch64: ok')
    expect(entries()).toEqual([])
  })
})

describe('a post step that cannot reach the engine main used', () => {
  let post: RunResult
  beforeAll(async () => {
    clearEntries()
    const fwd = await forwarder()
    const inputs = { platforms: 'arm64', cleanup: 'true', ...IMG }
    await act('post-warns', inputs, { post: false, env: { DOCKER_HOST: `tcp://127.0.0.1:${fwd.port}` } })
    const gone = new Promise(resolve => fwd.child.once('exit', resolve))
    fwd.child.kill()
    await gone
    post = await act('post-warns', inputs, { post: 'only' })
  })

  it('does not fail the job', () => expect(post.postRc).toBe(0))
  it('warns instead', () =>
    expect(post.postLog).toContain('::warning::cleanup did not finish: the Docker daemon is not reachable'))
})

describe('reset with nothing to register', () => {
  it('still removes the qemu-* entries', async () => {
    debianEntries()
    await act('reset-native', { platforms: 'amd64', reset: 'true', ...IMG })
    expect(entries()).toEqual([])
  })
})
