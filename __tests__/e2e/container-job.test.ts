/**
 * A `container:` job or an ARC runner pod, simulated: the bundled action runs in a mount namespace of
 * its own, with a private tmpfs on /tmp (RUNNER_TEMP and the tool cache there, which the engine cannot
 * see), binfmt_misc not mounted, as an unprivileged user in the docker group without sudo. The engine is
 * reached through its unix socket, and over TCP on 127.0.0.1. Everything happens through the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runAction, type RunOptions, type RunResult } from '../../scripts/runner.mjs'
import { IMG, act, containerRuns, emulatedOf, leftContainers, platformsOf, runDir, snapshot, useHost } from './host.js'

useHost()

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const USER = 'qemu-e2e-nosudo'
const PLATFORMS = ['linux/arm64', 'linux/s390x', 'linux/ppc64le']

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
    wrap: ['unshare', '--mount', '--propagation', 'private', path.join(ROOT, 'test/e2e/container-job.sh'), USER, dir],
    timeoutMs: 300_000
  })
}

/** A TCP listener on 127.0.0.1 that forwards to the engine's socket; resolves to its port. */
function forwarder(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'test/e2e/forward.mjs'), '0', '/var/run/docker.sock'], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString())
      if (m) resolve({ port: Number(m[1]), child })
    })
    child.on('exit', code => reject(new Error(`the forwarder exited (${code})`)))
  })
}

describe.each([
  ['through the unix socket', false],
  ['over TCP on 127.0.0.1', true]
])('a container job %s', (label, overTcp) => {
  const name = overTcp ? 'cjob-tcp' : 'cjob-unix'
  let fwd: { port: number; child: ChildProcess } | undefined
  let env: Record<string, string> = {}
  let before = ''
  let main: RunResult
  let again: RunResult
  let post: RunResult
  const afterMain: Record<string, boolean> = {}

  beforeAll(async () => {
    if (overTcp) {
      fwd = await forwarder()
      env = { DOCKER_HOST: `tcp://127.0.0.1:${fwd.port}` }
    }
    before = snapshot()
    const inputs = { platforms: 'arm64,s390x,ppc64le', cleanup: 'true', ...IMG }
    main = await actInContainerJob(name, inputs, { post: false, env })
    for (const deb of ['arm64', 's390x', 'ppc64el']) afterMain[deb] = containerRuns(deb)
    again = await actInContainerJob(`${name}-again`, inputs, { post: false, env })
    post = await actInContainerJob(name, inputs, { post: 'only', env })
  }, 600_000)
  afterAll(() => fwd?.child.kill())

  it('main exits 0', () => expect(main.rc).toBe(0))
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
