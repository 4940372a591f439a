/**
 * Emulators from the image, on a host where binfmt_misc is not mounted: arm64, arm and s390x registered,
 * real foreign binaries run on the host and in containers, BuildKit runs a RUN step for linux/arm64, and
 * the same step again changes nothing.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import {
  BM,
  IMG,
  SIBLING,
  SIBLING_PLATFORM,
  act,
  busybox,
  clearEntries,
  containerRuns,
  docker,
  emulatedOf,
  entries,
  hostExecs,
  hostRuns,
  isNative,
  mounted,
  platformsOf,
  snapshot,
  toolCache,
  useHost
} from './host.js'

useHost()

const TC = toolCache('image-source')
const ASKED = ['linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/s390x']
const INPUTS = { platforms: 'arm64,arm,s390x', ...IMG }

describe('arm64, arm and s390x from the image, on a host where binfmt_misc is not mounted', () => {
  let r: RunResult
  const before = { mounted: true, arm64Runs: true, siblingRuns: false, siblingExecs: false }
  beforeAll(async () => {
    clearEntries()
    if (mounted()) execFileSync('umount', [BM])
    before.mounted = mounted()
    before.arm64Runs = hostRuns('arm64')
    if (SIBLING) {
      before.siblingRuns = hostRuns(SIBLING)
      before.siblingExecs = hostExecs(SIBLING)
    }
    r = await act('main', INPUTS, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('binfmt_misc is not mounted before the step', () => expect(before.mounted).toBe(false))
  it('no arm64 binary runs before the step', () => expect(before.arm64Runs).toBe(false))
  if (SIBLING && isNative(SIBLING_PLATFORM))
    it(`Debian busybox-static:${SIBLING} runs natively before the step, as setup.sh found`, () =>
      expect(before.siblingRuns).toBe(true))
  if (SIBLING && !isNative(SIBLING_PLATFORM))
    it(`Debian busybox-static:${SIBLING} does not run before the step, as setup.sh found`, () =>
      expect(before.siblingExecs).toBe(false))
  it('main exits 0', () => expect(r.rc).toBe(0))
  it('output platforms lists the native platforms first, then the emulated ones', () =>
    expect(r.outputs.platforms).toBe(platformsOf(...ASKED)))
  it('output emulated lists the platforms asked for that are not native', () =>
    expect(r.outputs.emulated).toBe(emulatedOf(...ASKED)))
  it('output failed is empty', () => expect(r.outputs.failed).toBe(''))
  it('output qemu-version is the version of the emulators', () => {
    const version = execFileSync('/usr/bin/qemu-aarch64-static', ['--version'], { encoding: 'utf8' })
    expect(r.outputs['qemu-version']).toBe(/version ([0-9][^ \n]*)/.exec(version)?.[1])
  })
  it('the action mounted binfmt_misc and it stays mounted', () => expect(mounted()).toBe(true))
  it('it logged the mount', () => expect(r.mainLog).toContain('mounted binfmt_misc'))
  it('the entries are qemu-aarch64, qemu-arm and qemu-s390x only', () =>
    expect(entries()).toEqual(['qemu-aarch64', 'qemu-arm', 'qemu-s390x']))
  it('the entries carry the F flag', () => expect(fs.readFileSync(`${BM}/qemu-s390x`, 'utf8')).toContain('flags: POCF'))
  it('as root beside a local engine, it registered from the runner itself', () =>
    expect(r.mainLog).toContain('registering from the runner itself: root'))
  it.each(['arm64', 'armhf', 's390x'])('Debian busybox-static:%s runs on the host', deb => expect(hostRuns(deb)).toBe(true))
  it.each(['arm64', 'armhf', 's390x'])('Debian busybox-static:%s runs in a container', deb =>
    expect(containerRuns(deb)).toBe(true)
  )
  it('ppc64el was not asked for and does not run', () => expect(hostRuns('ppc64el')).toBe(false))
  it('one log group per phase', () => expect(r.mainLog.match(/^::group::/gm)).toHaveLength(6))
  it('the job summary has the table', () => expect(r.summary).toContain('<td>linux/s390x</td><td>emulated</td>'))
  it('post without cleanup leaves the entries', () => {
    expect(r.postRc).toBe(0)
    expect(entries()).toEqual(['qemu-aarch64', 'qemu-arm', 'qemu-s390x'])
  })
})

describe('BuildKit builds a FROM scratch image for linux/arm64 with a RUN step', () => {
  const tag = 'setup-qemu-e2e-arm64'
  let build: ReturnType<typeof spawnSync>
  beforeAll(() => {
    const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'buildkit-'))
    try {
      fs.copyFileSync(busybox('arm64'), path.join(ctx, 'busybox'))
      fs.writeFileSync(
        path.join(ctx, 'Dockerfile'),
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /built-on"]\n'
      )
      build = spawnSync('/usr/bin/docker', ['build', '--platform', 'linux/arm64', '-t', tag, ctx], {
        encoding: 'utf8',
        env: { ...process.env, DOCKER_BUILDKIT: '1' }
      })
    } finally {
      fs.rmSync(ctx, { recursive: true, force: true })
    }
  })

  it('DOCKER_BUILDKIT=1 docker build --platform linux/arm64 succeeds', () => expect(build.status).toBe(0))
  it('the RUN step ran as aarch64', () => {
    try {
      expect(docker('run', '--rm', '--platform', 'linux/arm64', tag, '/bin/busybox', 'cat', '/built-on').stdout.trim()).toBe(
        'aarch64'
      )
    } finally {
      docker('rmi', '-f', tag)
    }
  })
})

describe('the same step again changes nothing and reports the same', () => {
  let first: RunResult
  let again: RunResult
  let before: string
  beforeAll(async () => {
    // the state the first run left, as the step before this one
    clearEntries()
    first = await act('first', INPUTS, { env: { RUNNER_TOOL_CACHE: TC } })
    before = snapshot()
    again = await act('again', INPUTS, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('the second run exits 0', () => {
    expect(first.rc).toBe(0)
    expect(again.rc).toBe(0)
  })
  it('it reports the same platforms', () => expect(again.outputs.platforms).toBe(first.outputs.platforms))
  it('nothing is fetched and nothing registered', () => expect(again.mainLog).toContain('nothing to fetch'))
  it('no helper container runs', () => expect(again.mainLog).not.toContain('registered through a helper container'))
  it('binfmt_misc is exactly as before', () => expect(snapshot()).toBe(before))
})
