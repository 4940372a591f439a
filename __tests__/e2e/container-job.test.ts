/**
 * A `container:` job or an ARC runner pod, simulated: the bundled action runs in a mount namespace of
 * its own, with a private tmpfs on /tmp (RUNNER_TEMP and the tool cache there, which the engine cannot
 * see), binfmt_misc not mounted, as an unprivileged user in the docker group without sudo. The engine is
 * reached through its unix socket, and over TCP on 127.0.0.1. Everything happens through the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { containerJob, runAction, type RunOptions, type RunResult } from '../../scripts/runner.mjs'
import {
  IMG,
  act,
  busybox,
  containerRuns,
  docker,
  emulatedOf,
  entries,
  forwarder,
  leftContainers,
  platformsOf,
  runDir,
  snapshot,
  useHost
} from './host.js'

useHost()

const USER = 'qemu-e2e-nosudo'
const PLATFORMS = ['linux/arm64', 'linux/s390x', 'linux/ppc64le']
/** the socket of a sidecar engine, in a directory shared with it (the dind tier) */
const SIDECAR = process.env.E2E_SIDECAR_SOCKET

/** Runs the bundled action as a container job would (see test/e2e/container-job.sh). */
function actInContainerJob(
  name: string,
  inputs: RunOptions['inputs'],
  options: Omit<RunOptions, 'inputs' | 'dir' | 'wrap'> = {}
): Promise<RunResult> {
  const dir = runDir(name)
  if (options.post !== 'only') {
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(path.join(dir, 'temp'), { recursive: true })
    for (const f of ['output', 'state', 'summary']) fs.writeFileSync(path.join(dir, f), '')
    fs.chownSync(dir, 0, 0)
    for (const f of ['', 'output', 'state', 'summary']) fs.chmodSync(path.join(dir, f), 0o777)
  }
  return runAction({
    dir,
    inputs,
    ...options,
    env: { RUNNER_TEMP: '/tmp/runner/temp', RUNNER_TOOL_CACHE: '/tmp/runner/toolcache', ...options.env },
    // the directory shared with a sidecar engine is a volume of the job's, as in an ARC pod
    wrap: containerJob(USER, dir, SIDECAR ? [path.dirname(SIDECAR)] : []),
    timeoutMs: 300_000
  })
}

/**
 * How the job reaches the engine: its usual socket, TCP on 127.0.0.1, and, where the engine is a sidecar
 * (the dind tier gives E2E_SIDECAR_SOCKET), the sidecar's socket in the directory the two share, named
 * by DOCKER_HOST as in an ARC runner pod.
 */
type Reach = 'socket' | 'tcp' | 'shared'
const REACHES: [string, Reach][] = [
  ['through the unix socket', 'socket'],
  ['over TCP on 127.0.0.1', 'tcp'],
  ...(SIDECAR ? [['through the socket in a directory shared with the sidecar', 'shared'] as [string, Reach]] : [])
]

describe.each(REACHES)('a container job %s', (label, reach) => {
  const overTcp = reach === 'tcp'
  const name = `cjob-${reach === 'socket' ? 'unix' : reach}`
  let fwd: { port: number; child: ChildProcess } | undefined
  let env: Record<string, string> = reach === 'shared' ? { DOCKER_HOST: `unix://${SIDECAR}` } : {}
  let before = ''
  let main: RunResult
  let again: RunResult
  let post: RunResult
  const afterMain: Record<string, boolean> = {}
  let built: { status: number | null; ranOn: string } = { status: null, ranOn: '' }

  beforeAll(async () => {
    if (overTcp) {
      fwd = await forwarder()
      env = { DOCKER_HOST: `tcp://127.0.0.1:${fwd.port}` }
    }
    before = snapshot()
    const inputs = { platforms: 'arm64,s390x,ppc64le', cleanup: 'true', ...IMG }
    main = await actInContainerJob(name, inputs, { post: false, env })
    for (const deb of ['arm64', 's390x', 'ppc64el']) afterMain[deb] = containerRuns(deb)
    if (reach === 'socket') built = buildForArm64()
    again = await actInContainerJob(`${name}-again`, inputs, { post: false, env })
    post = await actInContainerJob(name, inputs, { post: 'only', env })
  }, 600_000)
  afterAll(() => {
    fwd?.child.kill()
  })

  it('main exits 0', () => expect(main.rc).toBe(0))
  it('it registered through a helper container, saying why: the job has no sudo, or its engine is elsewhere', () =>
    expect(main.mainLog).toMatch(
      reach === 'socket'
        ? /registering through a helper container: not root, and no passwordless sudo \(/
        : /registering through a helper container: the engine may be on another machine \(DOCKER_HOST is /
    ))
  it('it went through the engine, since the runner cannot see binfmt_misc', () =>
    expect(main.mainLog).toContain('binfmt_misc is read and written through the engine'))
  it('the emulators reached the helper without a bind mount of a runner path', () =>
    expect(main.mainLog).not.toMatch(/type=bind,source=\/tmp\/runner/))
  it('it verified in a container', () =>
    expect(main.mainLog).toContain('linux/arm64: ok (probe in a container without the emulator (F proven), and on the runner)'))
  it('output platforms', () => expect(main.outputs.platforms).toBe(platformsOf(...PLATFORMS)))
  it('output emulated', () => expect(main.outputs.emulated).toBe(emulatedOf(...PLATFORMS)))
  it('output failed is empty', () => expect(main.outputs.failed).toBe(''))
  it.each(['arm64', 's390x', 'ppc64el'])('Debian %s busybox runs in a container afterwards', deb =>
    expect(afterMain[deb]).toBe(true)
  )
  if (reach === 'socket') {
    it('BuildKit builds for linux/arm64 with a RUN step, which ran as aarch64', () => {
      expect(built.status).toBe(0)
      expect(built.ranOn).toBe('aarch64')
    })
  }
  it('a second run finds every platform working, and registers nothing', () => {
    expect(again.rc).toBe(0)
    expect(again.mainLog).toContain('every requested platform already works: nothing to fetch')
    expect(again.mainLog).not.toContain('registered through a helper container')
    expect(again.outputs.platforms).toBe(main.outputs.platforms)
  })
  it('post exits 0, with no warning', () => {
    expect(post.postRc).toBe(0)
    expect(post.postLog).not.toContain('::warning')
  })
  it('cleanup: true leaves binfmt_misc as it was', () => expect(snapshot()).toBe(before))
  it('no container is left', () => expect(leftContainers()).toEqual([]))
  it(`${label}: the same result as a runner that sees binfmt_misc`, async () => {
    const seen = await act(`${name}-seen`, { platforms: 'arm64,s390x,ppc64le', cleanup: 'true', ...IMG })
    expect(seen.rc).toBe(0)
    expect(seen.mainLog).not.toContain('through the engine')
    expect(seen.outputs).toEqual(main.outputs)
    expect(snapshot()).toBe(before)
  }, 300_000)
})

/** A FROM scratch image for linux/arm64 whose RUN step records the machine it ran on, built by BuildKit. */
function buildForArm64(): { status: number | null; ranOn: string } {
  const tag = 'setup-qemu-e2e-cjob-arm64'
  const ctx = fs.mkdtempSync(path.join('/tmp', 'buildkit-'))
  try {
    fs.copyFileSync(busybox('arm64'), path.join(ctx, 'busybox'))
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /built-on"]\n'
    )
    const build = spawnSync('/usr/bin/docker', ['build', '--platform', 'linux/arm64', '-t', tag, ctx], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_BUILDKIT: '1' }
    })
    const ranOn = docker('run', '--rm', '--platform', 'linux/arm64', tag, '/bin/busybox', 'cat', '/built-on').stdout.trim()
    return { status: build.status, ranOn }
  } finally {
    docker('rmi', '-f', tag)
    fs.rmSync(ctx, { recursive: true, force: true })
  }
}

/**
 * An image with a POSIX shell (bash), mount and the rest of what the helper uses, but no tar: busybox
 * cannot be used for it, since its shell finds its own tar applet whatever PATH says.
 */
function imageWithoutTar(tag: string): void {
  const root = fs.mkdtempSync(path.join('/tmp', 'notar-'))
  try {
    const tools = ['bash', 'mount', 'mkdir', 'cat', 'od', 'tr', 'uname'].map(t =>
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', t], { encoding: 'utf8' }).trim()
    )
    const libs = execFileSync('ldd', tools, { encoding: 'utf8' }).match(/\/[^\s:]+\.so[^\s:]*/g) ?? []
    for (const file of [...tools, ...new Set(libs)]) {
      fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true })
      fs.copyFileSync(file, path.join(root, file))
      fs.chmodSync(path.join(root, file), 0o755)
    }
    for (const d of ['bin', 'tmp', 'proc', 'sys', 'dev', 'run']) fs.mkdirSync(path.join(root, d), { recursive: true })
    fs.symlinkSync('/usr/bin/bash', path.join(root, 'bin/sh'))
    execFileSync('tar', ['-C', root, '-cf', `${root}.tar`, '.'])
    execFileSync('docker', ['import', `${root}.tar`, tag])
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
    fs.rmSync(`${root}.tar`, { force: true })
  }
}

describe('a container job whose helper image has no tar', () => {
  const tag = 'setup-qemu-e2e-notar:test'
  let r: RunResult
  let before = ''
  beforeAll(async () => {
    imageWithoutTar(tag)
    before = snapshot()
    r = await actInContainerJob('cjob-notar', { platforms: 'arm64', image: IMG.image, 'helper-image': tag }, { post: false })
  }, 300_000)
  afterAll(() => {
    docker('rmi', '-f', tag)
  })

  it('the step fails', () => expect(r.rc).toBe(1))
  it('the error names the image and what it lacks', () =>
    expect(r.mainLog).toContain(`::error::the helper image ${tag} has no tar to receive the emulators on its stdin`))
  it('nothing was registered', () => expect(snapshot()).toBe(before))
})

describe('a container job whose engine goes away while it registers', () => {
  let fwd: { port: number; child: ChildProcess }
  let back: { port: number; child: ChildProcess } | undefined
  let r: RunResult
  let post: RunResult
  let before = ''
  let left: string[] = []
  let works: Record<string, boolean> = {}
  beforeAll(async () => {
    fwd = await forwarder()
    before = snapshot()
    const dir = runDir('cjob-vanish')
    const inputs = { platforms: 'arm64,s390x,ppc64le', cleanup: 'true', ...IMG }
    const running = actInContainerJob('cjob-vanish', inputs, { post: false, env: { DOCKER_HOST: `tcp://127.0.0.1:${fwd.port}` } })
    // the engine goes once the registering helper has started
    const log = path.join(dir, 'main.log')
    const started = (): boolean => {
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''
      return text.slice(text.indexOf('::group::Register')).includes('::debug::run: docker run')
    }
    for (let i = 0; i < 3000 && !started(); i++) await new Promise(resolve => setTimeout(resolve, 10))
    await new Promise(resolve => setTimeout(resolve, 150))
    fwd.child.kill('SIGKILL')
    r = await running
    // a helper the engine was still running has finished by now
    await new Promise(resolve => setTimeout(resolve, 3000))
    left = entries()
    const deb: Record<string, string> = { 'qemu-aarch64': 'arm64', 'qemu-s390x': 's390x', 'qemu-ppc64le': 'ppc64el' }
    works = Object.fromEntries(left.map(e => [e, containerRuns(deb[e])]))
    // the engine is back at the address main used, which post uses whatever the job says by then
    back = await forwarder(fwd.port)
    post = await actInContainerJob('cjob-vanish', inputs, {
      post: 'only',
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }
    })
  }, 300_000)
  afterAll(() => {
    back?.child.kill()
  })

  it('the step fails', () => expect(r.rc).toBe(1))
  it('it says the engine went away and what to do', () =>
    expect(r.mainLog).toMatch(/::error::.*the Docker engine went away during this step.*run the step again/))
  it('nothing half-registered: every qemu-* entry left is whole and works in a container', () =>
    expect(Object.values(works).every(Boolean)).toBe(true))
  it('with cleanup: true, the post step leaves binfmt_misc as it was', () => {
    expect(post.postRc).toBe(0)
    expect(snapshot()).toBe(before)
  })
  it('no container is left', () => expect(leftContainers()).toEqual([]))
})
