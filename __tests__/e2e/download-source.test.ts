/**
 * `source: download` from a loopback HTTP server: the tarball checked by SHA-256, only the requested
 * emulators extracted into the tool cache and used from it the next time; a tampered tarball, a 404, a
 * server that never answers and a custom URL without a checksum all fail without registering anything.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import { E2E, act, clearEntries, containerRuns, emulatedOf, entries, env, leftContainers, toolCache, useHost } from './host.js'

useHost()

/** The requests the HTTP server logged, one line each. */
const gets = (match = 'GET '): number =>
  fs
    .readFileSync(env.HTTP_LOG, 'utf8')
    .split('\n')
    .filter(l => l.includes(match)).length
const DL = {
  source: 'download',
  'download-url': `${env.HTTP}/qemu_linux-{arch}.tar.gz`,
  'download-sha256': env.TARBALL_SHA256,
  'helper-image': env.HELPER_IMAGE
}
// the first two runs, and the one without a checksum, share one tool cache
const TC = toolCache('download')

/** The emulators in the tool cache, by file name. */
function cached(): string[] {
  const root = path.join(TC, 'setup-qemu')
  if (!fs.existsSync(root)) return []
  return fs
    .readdirSync(root)
    .flatMap(version => {
      const dir = path.join(root, version, 'x64')
      return fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => f.includes('qemu-')) : []
    })
    .sort()
}

describe('a first download', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    fs.writeFileSync(env.HTTP_LOG, '')
    r = await act('dl', { platforms: 'arm64,arm,s390x', ...DL }, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('exits 0', () => expect(r.rc).toBe(0))
  it('output emulated', () =>
    expect(r.outputs.emulated).toBe(emulatedOf('linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/s390x')))
  it('fetches the tarball once', () => expect(gets('GET /qemu_linux-amd64.tar.gz')).toBe(1))
  it('logs the checksum check', () => expect(r.mainLog).toContain('matches'))
  it('extracts only the requested emulators', () => expect(cached()).toEqual(['qemu-aarch64', 'qemu-arm', 'qemu-s390x']))
  it.each(['arm64', 'armhf', 's390x'])('Debian busybox-static:%s runs in a container', deb =>
    expect(containerRuns(deb)).toBe(true)
  )
})

describe('a second run with the same tool cache', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    r = await act('dl2', { platforms: 'arm64,s390x', ...DL }, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('exits 0', () => expect(r.rc).toBe(0))
  it('fetches nothing', () => expect(gets()).toBe(1))
  it('says it used the tool cache', () => expect(r.mainLog).toContain('emulators from tool cache'))
  it('arm64 runs in a container', () => expect(containerRuns('arm64')).toBe(true))
})

describe('a tampered tarball', () => {
  let r: RunResult
  let tc: string
  beforeAll(async () => {
    clearEntries()
    tc = toolCache('tampered')
    r = await act(
      'dl-tampered',
      { platforms: 'arm64', ...DL, 'download-url': `${env.HTTP}/tampered/qemu_linux-{arch}.tar.gz` },
      { env: { RUNNER_TOOL_CACHE: tc } }
    )
  })

  it('fails the step', () => expect(r.rc).toBe(1))
  it('gives both checksums in the message', () => {
    const got = createHash('sha256')
      .update(fs.readFileSync(path.join(E2E, 'www', 'tampered', 'qemu_linux-amd64.tar.gz')))
      .digest('hex')
    expect(r.mainLog).toContain(
      `checksum mismatch for ${env.HTTP}/tampered/qemu_linux-amd64.tar.gz: expected sha256 ${env.TARBALL_SHA256}, got ${got}`
    )
  })
  it('registers nothing', () => expect(entries()).toEqual([]))
  it('caches nothing', () => expect(fs.existsSync(path.join(tc, 'setup-qemu'))).toBe(false))
  // the helper is started while the tarball downloads: the failure stops it wherever it got to
  it('leaves no container behind', () => expect(leftContainers()).toEqual([]))
})

describe('a 404', () => {
  it('fails, saying HTTP 404', async () => {
    const r = await act(
      'dl-404',
      { platforms: 'arm64', ...DL, 'download-url': `${env.HTTP}/missing/qemu.tar.gz` },
      { env: { RUNNER_TOOL_CACHE: toolCache('404') } }
    )
    expect(r.rc).toBe(1)
    expect(r.mainLog).toContain('failed with HTTP 404')
  })
})

describe('a server that never answers', () => {
  it('fails within the timeout, saying it did not finish', async () => {
    const r = await act(
      'dl-hang',
      {
        platforms: 'arm64',
        source: 'download',
        'download-url': `${env.HTTP}/hang/qemu.tar.gz`,
        'download-sha256': env.TARBALL_SHA256,
        timeout: 5
      },
      { env: { RUNNER_TOOL_CACHE: toolCache('hang') }, timeoutMs: 120_000 }
    )
    expect(r.rc).toBe(1)
    expect(r.mainLog).toContain('did not finish within 5s')
  })
})

describe('a custom URL without a checksum', () => {
  let r: RunResult
  let fetched: number
  beforeAll(async () => {
    fetched = gets()
    r = await act(
      'dl-nosha',
      { platforms: 'arm64', source: 'download', 'download-url': `${env.HTTP}/qemu_linux-{arch}.tar.gz` },
      { env: { RUNNER_TOOL_CACHE: TC } }
    )
  })

  it('is refused', () => expect(r.rc).toBe(1))
  it('naming both ways out', () =>
    expect(r.mainLog).toContain('Give download-sha256 (sha256sum of the tarball), or use source: image'))
  it('fetches nothing', () => expect(gets()).toBe(fetched))
  it('leaves nothing registered by the failed runs', () => expect(entries()).toEqual([]))
})
