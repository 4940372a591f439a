/**
 * Engine trouble gives a message that says what to do: no docker on PATH, the daemon down, a pull that
 * hangs, a pull the registry refuses, a helper without a shell; an unpinned helper works, with a warning.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import type { RunResult } from '../../scripts/runner.mjs'
import { HELPER, act, clearEntries, entries, env, useHost } from './host.js'

useHost()

// through the helper, which needs the engine whatever the source
const ARM64 = { platforms: 'arm64', image: env.BINFMT_IMAGE, 'helper-image': env.HELPER_IMAGE, ...HELPER }

beforeAll(() => clearEntries())

describe('no docker on PATH', () => {
  let r: RunResult
  beforeAll(async () => {
    // a bare environment whose PATH has no docker; the runner starts node by its absolute path
    r = await act('nodocker', ARM64, { post: false, clearEnv: true, env: { PATH: '/nonexistent' } })
  })

  it('fails', () => expect(r.rc).toBe(1))
  it('says so', () => expect(r.mainLog).toContain('docker is not on PATH. This action needs a Docker engine'))
  it('registers nothing', () => expect(entries()).toEqual([]))
})

describe('the daemon down', () => {
  let r: RunResult
  beforeAll(async () => {
    r = await act('daemondown', ARM64, { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } })
  })

  it('fails', () => expect(r.rc).toBe(1))
  it('says to start it', () => expect(r.mainLog).toContain('the Docker daemon is not reachable'))
  it('registers nothing', () => expect(entries()).toEqual([]))
})

describe('a pull that hangs', () => {
  let r: RunResult
  beforeAll(async () => {
    const image = `${env.HANG_REG}/binfmt:test`
    r = await act('hang', { ...ARM64, image, timeout: 5 }, { timeoutMs: 120_000 })
  })

  it('fails within its timeout', () => expect(r.rc).toBe(1))
  it('says it did not finish', () => expect(r.mainLog).toContain('did not finish within 5s'))
  it('warns that the image is not pinned', () =>
    expect(r.mainLog).toContain(`::warning::image ${env.HANG_REG}/binfmt:test is not pinned by digest`))
  it('registers nothing', () => expect(entries()).toEqual([]))
})

describe('a pull the registry refuses', () => {
  let r: RunResult
  beforeAll(async () => {
    r = await act('refused', { ...ARM64, image: `${env.REG}/nonexistent@sha256:${'0'.repeat(64)}` })
  })

  it('fails', () => expect(r.rc).toBe(1))
  // the registry says "manifest unknown"; Docker 20.10 passes that on, a containerd image store says "not found"
  it("says the image was not found, with the engine's message", () =>
    expect(r.mainLog).toMatch(/::error::pulling \S+ for \S+ failed: the image was not found \(.*(manifest unknown|: not found)/))
  it('registers nothing', () => expect(entries()).toEqual([]))
})

describe('a helper without a shell', () => {
  let r: RunResult
  beforeAll(async () => {
    r = await act('noshell', { ...ARM64, 'helper-image': env.SLIM_IMAGE })
  })

  it('fails', () => expect(r.rc).toBe(1))
  it('says so', () => expect(r.mainLog).toContain('has no POSIX shell'))
  it('registers nothing', () => expect(entries()).toEqual([]))
})

describe('a helper not pinned by digest', () => {
  let r: RunResult
  beforeAll(async () => {
    r = await act('unpinned-helper', { ...ARM64, 'helper-image': `${env.REG}/busybox:test` })
  })

  it('works', () => expect(r.rc).toBe(0))
  it('is warned about', () =>
    expect(r.mainLog).toContain(`::warning::helper-image ${env.REG}/busybox:test is not pinned by digest`))
})
