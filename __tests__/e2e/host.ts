/**
 * What every end-to-end test shares: the environment test/e2e/setup.sh made, the host's binfmt_misc
 * (left as each test file found it), the engine, and real Debian binaries run on the host and in
 * containers. Expectations about the host come from the host: see NATIVE_PLATFORMS.
 */
import { afterAll, beforeAll } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { runAction, type RunOptions, type RunResult } from '../../scripts/runner.mjs'

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

const RUNS = path.join(E2E, 'runs-jest')

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

export const entries = (): string[] =>
  fs.existsSync(path.join(BM, 'register'))
    ? fs
        .readdirSync(BM)
        .filter(n => n.startsWith('qemu-'))
        .sort()
    : []

/** Every entry with its text, as `cat` shows it: for "exactly as before" checks. */
export const snapshot = (): string =>
  fs.existsSync(path.join(BM, 'register'))
    ? fs
        .readdirSync(BM)
        .filter(n => n !== 'register')
        .sort()
        .map(n => `${n}\n${fs.readFileSync(path.join(BM, n), 'utf8')}`)
        .join('')
    : ''

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
  i386: env.NATIVE_PROBE_UNAME ?? 'i686'
}
const busybox = (deb: string): string => path.join(E2E, 'foreign', deb, 'bin', 'busybox')

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

/** Lines of a step's log as the runner reads them: it ends a line at \r, \n or \r\n. */
export const runnerLines = (log: string): string[] => log.split(/\r\n|\r|\n/)

/** Containers this action left, found by its label. */
export const leftContainers = (): string[] =>
  docker('ps', '--all', '--quiet', '--filter', 'label=io.github.setup-qemu.run').stdout.split('\n').filter(Boolean)
