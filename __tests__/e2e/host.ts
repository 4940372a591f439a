/**
 * What every end-to-end test shares: the environment test/e2e/setup.sh made, the host's binfmt_misc
 * (left as each test file found it), the engine, and real Debian binaries run on the host and in
 * containers. Expectations about the host come from the host: see NATIVE_PLATFORMS.
 */
import { afterAll, beforeAll } from '@jest/globals'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { binfmtSnapshot, runAction, type RunOptions, type RunResult } from '../../scripts/runner.mjs'

export const BM = '/proc/sys/fs/binfmt_misc'
export const E2E = process.env.E2E ?? '/tmp/setup-qemu-e2e'

/** The `export NAME=value` lines setup.sh wrote. */
export const env: Record<string, string> = Object.fromEntries(
  fs
    .readFileSync(path.join(E2E, 'env'), 'utf8')
    .split('\n')
    .map(l => /^export ([A-Z0-9_]+)=(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(m => [m[1], m[2]])
)

/** The platforms this host runs natively, as the action lists them, found by setup.sh with real binaries. */
export const NATIVE = env.NATIVE_PLATFORMS.split(',')
export const IMG = { image: env.BINFMT_IMAGE, 'helper-image': env.HELPER_IMAGE }
/**
 * For tests of the helper container itself: as root beside a local engine, `auto` registers from the
 * runner, so these name the helper.
 */
export const HELPER = { 'register-from': 'container' }

const RUNS = path.join(E2E, 'runs-jest')

/** The directory of a run `act` made, with its runner files. */
export const runDir = (name: string): string => path.join(RUNS, name)

/** An empty tool cache of its own, for runs that share one: give it as RUNNER_TOOL_CACHE. */
export function toolCache(name: string): string {
  const dir = path.join(RUNS, `${name}.toolcache`)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

/** Runs the bundled action as the runner does, in a directory named after the run. */
export function act(
  name: string,
  inputs: RunOptions['inputs'],
  options: Omit<RunOptions, 'inputs' | 'dir'> = {}
): Promise<RunResult> {
  const dir = path.join(RUNS, name)
  if (options.post !== 'only') fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 })
  fs.chmodSync(dir, 0o777)
  return runAction({ dir, inputs, ...options })
}

/**
 * The same as an unprivileged user, as GitHub's runner user is: the run's directory and the runner's
 * files in it are the user's, and so is its own tool cache.
 */
export function actAs(
  user: string,
  name: string,
  inputs: RunOptions['inputs'],
  options: Omit<RunOptions, 'inputs' | 'dir' | 'wrap'> = {}
): Promise<RunResult> {
  const dir = path.join(RUNS, name)
  fs.rmSync(dir, { recursive: true, force: true })
  for (const d of ['temp', 'toolcache']) fs.mkdirSync(path.join(dir, d), { recursive: true })
  for (const f of ['output', 'state', 'summary']) fs.writeFileSync(path.join(dir, f), '')
  execFileSync('chown', ['-R', user, dir])
  return runAction({
    dir,
    inputs,
    ...options,
    env: { RUNNER_TOOL_CACHE: path.join(dir, 'toolcache'), ...options.env },
    wrap: ['runuser', '-u', user, '--']
  })
}

export const entries = (): string[] =>
  fs.existsSync(path.join(BM, 'register'))
    ? fs
        .readdirSync(BM)
        .filter(n => n.startsWith('qemu-'))
        .sort()
    : []

/** Every entry with its text, as `cat` shows it: for "exactly as before" checks. */
export const snapshot = (): string => binfmtSnapshot(BM)

export const mounted = (): boolean => fs.existsSync(path.join(BM, 'register'))

/** Removes every entry whose name is not `register` or `status`, as a test's own mess. */
export function clearEntries(keep: (name: string) => boolean = () => false): void {
  if (!mounted()) return
  for (const n of fs.readdirSync(BM)) {
    if (n === 'register' || n === 'status' || keep(n)) continue
    try {
      fs.writeFileSync(path.join(BM, n), '-1')
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Whether the kernel's binfmt_misc instance outlives every mount of it in this mount namespace: when the
 * tests run in a namespace of their own (the dind tier), the host's own mount keeps it, and entries a
 * helper container writes stay. Found by trying, with binfmt_misc not mounted here (left so).
 */
export function keptElsewhere(): boolean {
  const canary = 'setup-qemu-e2e-alive'
  execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BM])
  register(`:${canary}:E::sqalive::/nonexistent:`)
  execFileSync('umount', [BM])
  execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BM])
  const alive = fs.existsSync(path.join(BM, canary))
  if (alive) fs.writeFileSync(path.join(BM, canary), '-1')
  execFileSync('umount', [BM])
  return alive
}

/** Registers a line as another tool would. */
export const register = (line: string): void => fs.writeFileSync(path.join(BM, 'register'), line)

/**
 * Leaves binfmt_misc as the file found it: the entries there before stay, everything a test added
 * goes, even when a test fails; and it is unmounted again if it was not mounted.
 */
export function useHost(): void {
  let wasMounted = false
  let before: string[] = []
  beforeAll(() => {
    wasMounted = mounted()
    // the tests set up entries of their own before the action runs: they need it mounted
    if (!wasMounted) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BM])
    if (entries().length > 0 && process.env.CI === 'true') {
      // a CI machine is this run's own: what an earlier run left there goes
      console.warn(`removing qemu-* entries an earlier run left on this CI machine: ${entries().join(' ')}`)
      clearEntries(n => !n.startsWith('qemu-'))
    }
    before = fs.readdirSync(BM)
    if (entries().length > 0)
      throw new Error(`this host already has qemu-* entries (${entries().join(' ')}): the tests would change them`)
  })
  afterAll(() => {
    clearEntries(n => before.includes(n))
    if (!wasMounted && mounted()) execFileSync('umount', [BM])
  })
}

/** `docker` with its output, exit code ignored. */
export const docker = (...args: string[]): { status: number; stdout: string; stderr: string } => {
  const r = spawnSync('docker', args, { encoding: 'utf8' })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/** What Debian's busybox-static prints for `uname -m` when it runs, by Debian architecture. */
const UNAME: Record<string, string> = {
  arm64: 'aarch64',
  armhf: 'armv7l',
  s390x: 's390x',
  ppc64el: 'ppc64le',
  mips64el: 'mips64',
  i386: 'i686',
  // a family member the host runs natively reports the kernel's machine instead (a 32-bit busybox on an
  // x86_64 kernel prints x86_64); setup.sh recorded what it printed
  ...(env.NATIVE_PROBE_DEB && env.NATIVE_PROBE_UNAME ? { [env.NATIVE_PROBE_DEB]: env.NATIVE_PROBE_UNAME } : {})
}
export const busybox = (deb: string): string => path.join(E2E, 'foreign', deb, 'bin', 'busybox')

/** The same binary runs on the host at all, whatever it says it is. */
export function hostExecs(deb: string): boolean {
  return spawnSync(busybox(deb), ['true']).status === 0
}

/** A real foreign binary, nobody here wrote, runs on the host. */
export function hostRuns(deb: string): boolean {
  const r = spawnSync(busybox(deb), ['uname', '-m'], { encoding: 'utf8' })
  return r.status === 0 && r.stdout.trim() === UNAME[deb]
}

/** The same, inside a container that has no emulator in it. */
export function containerRuns(deb: string): boolean {
  const r = docker(
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${path.dirname(busybox(deb))}:/foreign:ro`,
    env.HELPER_IMAGE,
    '/foreign/busybox',
    'uname',
    '-m'
  )
  return r.status === 0 && r.stdout.trim() === UNAME[deb]
}

/** The same, chrooted into a directory that holds nothing else: only an F entry can run it there. */
export function chrootRuns(deb: string): boolean {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'chroot-'))
  try {
    fs.copyFileSync(busybox(deb), path.join(root, 'busybox'))
    fs.chmodSync(path.join(root, 'busybox'), 0o755)
    const r = spawnSync('chroot', [root, '/busybox', 'uname', '-m'], { encoding: 'utf8' })
    return r.status === 0 && r.stdout.trim() === UNAME[deb]
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

/** The engine's container events (create, start, ...) between two times in seconds, one line each. */
export function containerEvents(since: number, until: number): string[] {
  return docker(
    'events',
    '--since',
    String(since),
    '--until',
    String(until),
    '--filter',
    'type=container',
    '--format',
    '{{.Action}} {{.Actor.Attributes.name}}'
  )
    .stdout.split('\n')
    .filter(Boolean)
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** A TCP listener on 127.0.0.1 (on `port`, or one the system picks) that forwards to the engine's socket. */
export function forwarder(port = 0): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'test/e2e/forward.mjs'), String(port), '/var/run/docker.sock'], {
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

/** Lines of a step's log as the runner reads them: it ends a line at \r, \n or \r\n. */
export const runnerLines = (log: string): string[] => log.split(/\r\n|\r|\n/)

/** Containers this action left, found by its label. */
export const leftContainers = (): string[] =>
  docker('ps', '--all', '--quiet', '--filter', 'label=io.github.setup-qemu.run').stdout.split('\n').filter(Boolean)

/** The action's platform table, in its order: it lists native platforms first, then emulated ones, each in this order. */
/** Every platform the action knows, in its table's order: the order of its outputs. */
export const TABLE = [
  'linux/amd64',
  'linux/386',
  'linux/arm64',
  'linux/arm/v7',
  'linux/arm/v6',
  'linux/riscv64',
  'linux/ppc64le',
  'linux/s390x',
  'linux/mips64le',
  'linux/mips64',
  'linux/loong64'
]
export const isNative = (platform: string): boolean => NATIVE.includes(platform)
/** The expected `emulated` output when these platforms are asked for. */
export const emulatedOf = (...platforms: string[]): string => TABLE.filter(p => !isNative(p) && platforms.includes(p)).join(',')
/**
 * The amd64 levels this CPU runs (linux/amd64/v2...), as glibc's loader finds them by its own CPUID
 * checks: an oracle the action does not share (it reads the kernel's CPU flags).
 */
export const VARIANTS: string[] = (() => {
  if (process.arch !== 'x64') return []
  const r = spawnSync('/lib64/ld-linux-x86-64.so.2', ['--help'], { encoding: 'utf8' })
  if (!/glibc-hwcaps/.test(r.stdout ?? '')) throw new Error('this glibc does not say which x86-64 levels the CPU runs')
  return [...r.stdout.matchAll(/x86-64-(v\d) \(supported/g)].map(m => `linux/amd64/${m[1]}`).sort()
})()
/** The native part of the `platforms` output: each native platform, its variants right after it. */
export const NATIVE_OUTPUT = NATIVE.flatMap(p => [p, ...VARIANTS.filter(v => v.startsWith(`${p}/`))])
/** The expected `platforms` output: every native platform, then the emulated ones asked for. */
export const platformsOf = (...platforms: string[]): string =>
  [...NATIVE_OUTPUT, emulatedOf(...platforms)].filter(Boolean).join(',')
/** QEMU's name for a platform, which is its binfmt_misc entry's name after `qemu-`. */
export function cpuOf(platform: string): string {
  const names: Record<string, string> = {
    'linux/amd64': 'x86_64',
    'linux/386': 'i386',
    'linux/arm64': 'aarch64',
    'linux/arm/v7': 'arm',
    'linux/arm/v6': 'arm',
    'linux/mips64le': 'mips64el',
    'linux/loong64': 'loongarch64'
  }
  return names[platform] ?? platform.replace(/^linux\//, '')
}
/** The entries that must never exist here: one for each native platform's format. */
export const nativeEntries = (): string[] => [...new Set(NATIVE.map(p => `qemu-${cpuOf(p)}`))].sort()

/**
 * The other member of the host's family that setup.sh ran (Debian's i386 or armhf busybox), and the
 * platform it is; empty where there is none.
 */
export const SIBLING = env.NATIVE_PROBE_DEB ?? ''
export const SIBLING_PLATFORM = (env.NATIVE_PROBE_PLATFORMS ?? '').split(',')[0]

/** binfmt_misc's fields for entries as a distro or another tool writes them. */
export const MAGIC = {
  arm64: '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00',
  riscv64: '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xf3\\x00',
  ppc64le: '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x15\\x00',
  mask: '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff'
}
