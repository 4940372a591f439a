/**
 * Registering from the runner itself. A runner shaped like a GitHub-hosted one (the user qemu-e2e with
 * passwordless sudo, no docker CLI on PATH, no engine it may reach) registers arm64 and s390x with
 * `sudo -n tee`, runs no docker command, and its post step puts the table back exactly; Debian's arm64
 * busybox runs on the host, in a chroot and in a container. As root beside a local engine, `auto`
 * registers from the runner and the engine sees no container. A user without sudo still goes through the
 * helper, and `register-from: runner` there stops before anything changes. Post leaves alone a table of
 * another boot than the one main changed, whichever way main registered.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runAction, type RunOptions, type RunResult } from '../../scripts/runner.mjs'
import {
  BM,
  E2E,
  HELPER,
  IMG,
  act,
  actAs,
  chrootRuns,
  clearEntries,
  containerEvents,
  containerRuns,
  emulatedOf,
  entries,
  env,
  hostRuns,
  mounted,
  runDir,
  snapshot,
  useHost
} from './host.js'

useHost()

const USER = 'qemu-e2e'
const DL = {
  source: 'download',
  'download-url': `${env.HTTP}/qemu_linux-{arch}.tar.gz`,
  'download-sha256': env.TARBALL_SHA256
}
const ASKED = ['linux/arm64', 'linux/s390x']
const now = (): number => Date.now() / 1000

let withoutDocker: string | undefined

/** Every program of this machine's usual PATH but the docker CLI, as a directory of links (made once). */
function pathWithoutDocker(): string {
  if (withoutDocker) return withoutDocker
  const bin = path.join(E2E, 'bin-without-docker')
  fs.rmSync(bin, { recursive: true, force: true })
  fs.mkdirSync(bin, { recursive: true })
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!fs.existsSync(dir)) continue
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith('docker') || fs.existsSync(path.join(bin, name))) continue
      fs.symlinkSync(path.join(dir, name), path.join(bin, name))
    }
  }
  withoutDocker = bin
  return bin
}

const id = (flag: string): string => execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim()
/** As USER with no supplementary group (so not in the docker group: the engine's socket is closed to it). */
const AS_USER = (): string[] => ['setpriv', '--reuid', id('-u'), '--regid', id('-g'), '--clear-groups', '--']

/**
 * The bundled action as a GitHub-hosted runner's user runs it here: USER, passwordless sudo, a PATH
 * without docker, and a bare environment; the run's files are the user's.
 */
function actHosted(
  name: string,
  inputs: RunOptions['inputs'],
  options: Omit<RunOptions, 'inputs' | 'dir' | 'wrap'> = {}
): Promise<RunResult> {
  const dir = runDir(name)
  if (options.post !== 'only') {
    fs.rmSync(dir, { recursive: true, force: true })
    for (const d of ['temp', 'toolcache']) fs.mkdirSync(path.join(dir, d), { recursive: true })
    for (const f of ['output', 'state', 'summary']) fs.writeFileSync(path.join(dir, f), '')
    execFileSync('chown', ['-R', USER, dir])
  }
  return runAction({
    dir,
    inputs,
    ...options,
    clearEnv: true,
    env: { PATH: pathWithoutDocker(), HOME: `/home/${USER}`, RUNNER_TOOL_CACHE: path.join(dir, 'toolcache'), ...options.env },
    wrap: AS_USER(),
    timeoutMs: 300_000
  })
}

/** Whether USER, as actHosted runs it, finds a docker CLI or may open the engine's socket. */
function userReaches(): { cli: boolean; socket: boolean } {
  const sh = (script: string): boolean =>
    spawnSync(AS_USER()[0], [...AS_USER().slice(1), 'sh', '-c', script], { env: { PATH: pathWithoutDocker() } }).status === 0
  return { cli: sh('command -v docker'), socket: sh('test -w /var/run/docker.sock') }
}

const dockerCalls = (log: string): string[] => log.split('\n').filter(l => /^::debug::run: docker /.test(l))

/** Replaces the boot id in the state a main step saved, as if the machine had restarted since. */
function rebootedSince(name: string): void {
  const file = path.join(runDir(name), 'state')
  const state = fs.readFileSync(file, 'utf8')
  if (!/"bootId":"[0-9a-f-]+"/.test(state)) throw new Error('main saved no boot id')
  // every record of the state: the runner hands post the last one
  fs.writeFileSync(file, state.replace(/"bootId":"[0-9a-f-]+"/g, '"bootId":"00000000-0000-0000-0000-000000000000"'))
}

describe.each([
  ['the download source', 'hosted-download', DL],
  // NEEDS the image source that fetches over the registry API, without an engine: until then it fails at
  // its first `docker` call, with "docker is not on PATH"
  [
    'the image source, over the registry API (needs the image source without an engine)',
    'hosted-image',
    { image: env.BINFMT_IMAGE }
  ]
])('a runner shaped like a GitHub-hosted one (sudo, no docker CLI, no engine), from %s', (_, name, source) => {
  const inputs = { platforms: 'arm64,s390x', cleanup: 'true', ...source }
  let reaches = { cli: true, socket: true }
  let before = ''
  let main: RunResult
  let post: RunResult
  const after = { entries: [] as string[], s390xFlags: '', host: false, chroot: false, s390x: false, container: false }
  beforeAll(async () => {
    clearEntries()
    reaches = userReaches()
    before = snapshot()
    main = await actHosted(name, inputs, { post: false })
    after.entries = entries()
    after.s390xFlags = fs.existsSync(`${BM}/qemu-s390x`) ? fs.readFileSync(`${BM}/qemu-s390x`, 'utf8') : ''
    after.host = hostRuns('arm64')
    after.chroot = chrootRuns('arm64')
    after.s390x = hostRuns('s390x')
    after.container = containerRuns('arm64')
    post = await actHosted(name, inputs, { post: 'only' })
  }, 600_000)

  it('the user finds no docker CLI and may not open the engine', () => expect(reaches).toEqual({ cli: false, socket: false }))
  it('main exits 0', () => expect(main.rc).toBe(0))
  it('it registered from the runner itself, with sudo', () =>
    expect(main.mainLog).toContain('registering from the runner itself: passwordless sudo'))
  it('it wrote binfmt_misc with `sudo -n tee`', () =>
    expect(main.mainLog).toMatch(/^::debug::run: \S+\/sudo -n tee \/proc\/sys\/fs\/binfmt_misc\/register$/m))
  it('no docker command ran, in main or post', () =>
    expect([...dockerCalls(main.mainLog), ...dockerCalls(post.postLog)]).toEqual([]))
  it('output emulated', () => expect(main.outputs.emulated).toBe(emulatedOf(...ASKED)))
  it('the entries are there, with F', () => {
    expect(after.entries).toEqual(['qemu-aarch64', 'qemu-s390x'])
    expect(after.s390xFlags).toContain('flags: POCF')
  })
  it('it proved F in an empty root, through sudo -n', () =>
    expect(main.mainLog).toContain(
      'linux/arm64: ok (probe chrooted into an empty directory: F proven, and the host runs the same entry)'
    ))
  it("Debian's arm64 busybox runs on the host", () => expect(after.host).toBe(true))
  it("Debian's arm64 busybox runs in a chroot", () => expect(after.chroot).toBe(true))
  it("Debian's s390x busybox runs on the host", () => expect(after.s390x).toBe(true))
  it('a container started afterwards runs arm64', () => expect(after.container).toBe(true))
  it('the summary says the emulators serve the runner and its containers alike', () =>
    expect(main.summary).toContain('in its chroots and in its containers alike'))
  it('post exits 0, with no warning', () => {
    expect(post.postRc).toBe(0)
    expect(post.postLog).not.toContain('::warning')
  })
  it('cleanup: true leaves binfmt_misc exactly as it was', () => expect(snapshot()).toBe(before))
})

describe('the same runner where binfmt_misc is not mounted', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    if (mounted()) execFileSync('umount', [BM])
    r = await actHosted('hosted-unmounted', { platforms: 'arm64', ...DL }, { post: false })
  })

  it('main exits 0', () => expect(r.rc).toBe(0))
  it('it mounted binfmt_misc with sudo', () => expect(r.mainLog).toContain('mounted binfmt_misc (sudo -n mount -t binfmt_misc'))
  it('arm64 runs on the host and in a chroot', () => {
    expect(hostRuns('arm64')).toBe(true)
    expect(chrootRuns('arm64')).toBe(true)
  })
})

describe('as root beside a local engine, with auto', () => {
  const inputs = { platforms: 'arm64', cleanup: 'true', ...DL }
  let main: RunResult
  let post: RunResult
  const events = { main: [] as string[], post: [] as string[] }
  let before = ''
  let afterMain = { container: false, chroot: false }
  beforeAll(async () => {
    clearEntries()
    before = snapshot()
    let since = Math.floor(now())
    main = await act('root-runner', inputs, { post: false })
    events.main = containerEvents(since, Math.ceil(now()) + 1)
    // containers of the test's own, after the window
    afterMain = { container: containerRuns('arm64'), chroot: chrootRuns('arm64') }
    since = Math.floor(now()) + 1
    await new Promise(resolve => setTimeout(resolve, 1100))
    post = await act('root-runner', inputs, { post: 'only' })
    events.post = containerEvents(since, Math.ceil(now()) + 1)
  }, 300_000)

  it('main exits 0', () => expect(main.rc).toBe(0))
  it('it registered from the runner itself, as root', () =>
    expect(main.mainLog).toContain('registering from the runner itself: root'))
  it('the summary says so', () => expect(main.summary).toContain('Registered through: the runner itself, as root'))
  it('the engine saw no container during main', () => expect(events.main).toEqual([]))
  it('a container started afterwards runs arm64 (F), and so does a chroot', () =>
    expect(afterMain).toEqual({ container: true, chroot: true }))
  it('post put the table back, and the engine saw no container then either', () => {
    expect(post.postRc).toBe(0)
    expect(snapshot()).toBe(before)
    expect(events.post).toEqual([])
  })
})

describe('a user without sudo', () => {
  let r: RunResult
  let forced: RunResult
  let before = ''
  let afterForced = ''
  beforeAll(async () => {
    clearEntries()
    before = snapshot()
    forced = await actAs('qemu-e2e-nosudo', 'nosudo-forced', { platforms: 'arm64', 'register-from': 'runner', ...IMG })
    afterForced = snapshot()
    r = await actAs('qemu-e2e-nosudo', 'nosudo-helper', { platforms: 'arm64', ...IMG })
  })

  it('with register-from: runner, the step fails before anything changes, saying why and what to do', () => {
    expect(forced.rc).toBe(1)
    expect(forced.mainLog).toMatch(
      /::error::register-from: runner cannot work here: .*without passwordless sudo \(.*\); run the job as root, or give the runner's user passwordless sudo/
    )
    expect(forced.mainLog).not.toContain('::group::Host')
    expect(afterForced).toBe(before)
  })
  it('with auto, it goes through a helper container, saying why', () => {
    expect(r.rc).toBe(0)
    expect(r.mainLog).toMatch(/registering through a helper container: not root, and no passwordless sudo \(/)
    expect(r.mainLog).toContain('registered through a helper container with --cap-add SYS_ADMIN')
  })
  it('arm64 runs in a container', () => expect(containerRuns('arm64')).toBe(true))
})

describe.each([
  ['registered from the runner itself', 'reboot-runner', DL],
  ['registered through a helper container', 'reboot-helper', { ...IMG, ...HELPER }]
])('a post step after a restart, when main %s', (_, name, source) => {
  let afterMain = ''
  let post: RunResult
  beforeAll(async () => {
    clearEntries()
    const inputs = { platforms: 'arm64', cleanup: 'true', ...source }
    const main = await act(name, inputs, { post: false })
    expect(main.rc).toBe(0)
    afterMain = snapshot()
    rebootedSince(name)
    post = await act(name, inputs, { post: 'only' })
  }, 300_000)

  it('does not fail the job', () => expect(post.postRc).toBe(0))
  it('warns that the table belongs to another boot', () =>
    expect(post.postLog).toMatch(
      /::warning::cleanup did not finish: binfmt_misc was not changed: it belongs to another kernel \(boot id [0-9a-f-]+\) than the one this run read and changed \(boot id 0{8}-/
    ))
  it('changes nothing', () => {
    expect(snapshot()).toBe(afterMain)
    clearEntries()
  })
})
