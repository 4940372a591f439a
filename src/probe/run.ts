/**
 * Running probes on the host. A shell runs them, and its exit status tells what the kernel did:
 * 126 it refused to run the file (no handler, or a noexec mount), 127 the interpreter was not found.
 * Toolkit-free: the early start imports this before the toolkit has loaded.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { handlersOf, type Entry } from '../binfmt/entry.js'
import { spawnInGroup } from '../exec/spawn.js'
import { PLATFORMS, PROBE_EXIT_CODE, type Platform } from '../platform/platforms.js'
import { fromNodeArch } from '../platform/arch.js'
import { buildProbe } from '../platform/elf.js'

export interface ProbeResult {
  ok: boolean
  /**
   * what went wrong as far as this process can tell; an exec format error (no handler) usually shows
   * as a wrong exit code, since exec falls back to /bin/sh for it (see verify's explain)
   */
  error?: 'no handler' | 'interpreter missing' | 'wrong exit code' | 'crashed' | 'timed out' | 'exec failed'
  detail?: string
}

/** How long a probe may take: QEMU starts in milliseconds, so this only ends one that hangs. */
export const PROBE_TIMEOUT_MS = 20_000

/**
 * The whole environment of a probe and of what runs it (sh, chroot, sudo, unshare): none of the step's.
 * The kernel hands a foreign probe to whatever entry claims it, and that interpreter must not get the
 * job's tokens (ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_*) or its file-command paths (GITHUB_ENV).
 */
export const PROBE_ENV: Readonly<Record<string, string>> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' }
const timedOut = (ms: number): ProbeResult => ({ ok: false, error: 'timed out', detail: `no exit in ${ms / 1000}s` })

/**
 * Writes one probe per platform into dir (created if needed) and returns their paths by arch.
 * Synchronous on purpose: a dozen tiny files, and the early start needs them written before the
 * toolkit's loading blocks the event loop.
 */
export function writeProbes(dir: string, platforms: readonly Platform[]): Map<string, string> {
  fs.mkdirSync(dir, { recursive: true })
  return new Map(
    platforms.map(p => {
      const file = path.join(dir, `probe-${p.arch}`)
      // written aside and renamed over: a probe of the same name may be running (ETXTBSY)
      fs.writeFileSync(`${file}.new`, buildProbe(p), { mode: 0o755 })
      fs.renameSync(`${file}.new`, file)
      return [p.arch, file]
    })
  )
}

/**
 * Runs one probe on its own, spawned directly: the errno of a failed exec says what the shell's status
 * cannot, whether the interpreter could not be found (ENOENT) or an emulator ran and exited 127 itself.
 */
export async function runProbe(file: string): Promise<ProbeResult> {
  const { status, errno } = await inGroup(file, [], 'ignore')
  if (errno === 'ENOENT')
    return { ok: false, error: 'interpreter missing', detail: 'the registered interpreter does not exist here' }
  if (errno) return { ok: false, error: 'exec failed', detail: `the kernel refused to run it (${errno})` }
  if (status === undefined) return timedOut(PROBE_TIMEOUT_MS)
  if (status === PROBE_EXIT_CODE) return { ok: true }
  if (status > 128) return { ok: false, error: 'crashed', detail: `killed by signal ${status - 128}` }
  return { ok: false, error: 'wrong exit code', detail: `exit code ${status}, expected ${PROBE_EXIT_CODE}` }
}

/**
 * Spawns a command in a process group of its own and waits for it at most `limitMs`: an
 * interpreter that hangs is killed with everything it started, and its status is then undefined.
 */
async function inGroup(
  file: string,
  argv: readonly string[],
  stdout: 'ignore' | 'pipe',
  limitMs = PROBE_TIMEOUT_MS
): Promise<{ status?: number; errno?: string; out: string }> {
  const child = spawnInGroup(file, argv, { limitMs, env: PROBE_ENV, input: 'ignore', stdout, stderr: 'ignore' })
  const how = await child.ended
  const out = Buffer.concat(child.stdout).toString()
  if ('error' in how) return { status: how.error.code === 'ENOENT' ? 127 : 126, errno: how.error.code, out }
  return { status: 'status' in how ? how.status : undefined, out }
}

// Every probe at once from one shell: a process spawned from Node costs a couple of milliseconds, a
// fork from sh far less. Probe paths reach it as arguments, never as code.
const ALL_AT_ONCE = 'echo started; for p; do ( "$p" </dev/null >/dev/null 2>&1; echo "$? $p" ) & done; wait'

/** What a shell's exit status says about an exec (126: could not run, 127: not found, 128+n: signal n). */
export function fromStatus(status: number): ProbeResult {
  if (status === PROBE_EXIT_CODE) return { ok: true }
  if (status === 127) return { ok: false, error: 'interpreter missing', detail: 'the registered interpreter does not exist here' }
  if (status === 126) return { ok: false, error: 'exec failed', detail: 'the kernel refused to run it' }
  if (status > 128) return { ok: false, error: 'crashed', detail: `killed by signal ${status - 128}` }
  return { ok: false, error: 'wrong exit code', detail: `exit code ${status}, expected ${PROBE_EXIT_CODE}` }
}

/**
 * Runs tool with argv, a shell that prints `started`, starts probes at once and prints `<status> <name>` as
 * each ends; the statuses by arch, names giving each name's arch, and whether the shell ran at all. A
 * probe of a shell that started but printed nothing for it did not end in time.
 */
export async function statusLines(
  tool: string,
  argv: readonly string[],
  names: ReadonlyMap<string, string>,
  limitMs = PROBE_TIMEOUT_MS
): Promise<{ statuses: Map<string, number>; started: boolean }> {
  const statuses = new Map<string, number>()
  const { out } = await inGroup(tool, argv, 'pipe', limitMs)
  const lines = out.split('\n')
  for (const line of lines) {
    const space = line.indexOf(' ')
    const arch = names.get(line.slice(space + 1))
    if (space > 0 && arch) statuses.set(arch, Number(line.slice(0, space)))
  }
  return { statuses, started: lines.includes('started') }
}

/** Runs every probe at once; they are tiny and independent. One that does not exit in time is killed. */
export async function runProbes(
  paths: ReadonlyMap<string, string>,
  limitMs = PROBE_TIMEOUT_MS
): Promise<Map<string, ProbeResult>> {
  const byPath = new Map([...paths].map(([arch, file]) => [file, arch]))
  const { statuses } = await statusLines('/bin/sh', ['-c', ALL_AT_ONCE, 'sh', ...paths.values()], byPath, limitMs)
  return new Map(
    [...paths.keys()].map(arch => {
      const status = statuses.get(arch)
      return [arch, status === undefined ? timedOut(limitMs) : fromStatus(status)]
    })
  )
}

/**
 * Only the host's own family can run natively, so only those probes (and the requested platforms',
 * to judge their entries) need to run; the probes still decide, not the name of the arch. Platforms an
 * entry claims run too: what works through entries already there is usable, and is listed.
 */
export function probesToRun(
  requested: 'all' | readonly Platform[],
  nodeArch: string = process.arch,
  entries: ReadonlyMap<string, Entry> = new Map()
): Platform[] {
  const own = fromNodeArch(nodeArch)
  return PLATFORMS.filter(
    p => requested === 'all' || requested.includes(p) || !own || p.family === own.family || handlersOf(p, entries).length > 0
  )
}

export interface HostProbes {
  /** probe paths by arch, for every platform in the table */
  probes: Map<string, string>
  /** results for the host's family, the requested platforms, and those an entry claims */
  before: Map<string, ProbeResult>
  /** the CPU's answers already asked for (runsOnCpu), by arch */
  cpu?: ReadonlyMap<string, Promise<CpuAnswer>>
}

/**
 * Writes the probes and starts them before returning: they run while the caller goes on. As root, a
 * platform of the host's family that an entry claims is asked of the CPU meanwhile too (its answer
 * does not depend on the entries); otherwise that may take sudo, asked only once it is known to count.
 */
export function probeHost(
  dir: string,
  requested: 'all' | readonly Platform[],
  entries: ReadonlyMap<string, Entry>,
  nodeArch: string = process.arch,
  asRoot = process.getuid?.() === 0
): Promise<HostProbes> {
  const probes = writeProbes(dir, PLATFORMS)
  const toRun = new Set(probesToRun(requested, nodeArch, entries).map(p => p.arch))
  const own = fromNodeArch(nodeArch)
  const claimed = PLATFORMS.filter(
    p => asRoot && own && p !== own && p.family === own.family && handlersOf(p, entries).length > 0
  )
  const cpu = new Map(claimed.map(p => [p.arch, runsOnCpu(probes.get(p.arch) ?? '', true)] as const))
  return runProbes(new Map([...probes].filter(([arch]) => toRun.has(arch)))).then(before => ({ probes, before, cpu }))
}

/** Whether the CPU itself runs a probe, asked where no binfmt_misc entry can claim it. */
export type CpuAnswer = { runs: boolean } | { unknown: string }

// A private user namespace gets a binfmt_misc instance of its own, empty (Linux 6.7 and later):
// whatever runs there, the CPU ran without any emulator.
const WITHOUT_ENTRIES = `b=/proc/sys/fs/binfmt_misc
mount -t binfmt_misc binfmt_misc "$b" 2>/dev/null || { echo nomount; exit 0; }
for f in "$b"/*; do case \${f##*/} in register|status) ;; *) echo notempty; exit 0 ;; esac; done
"$0" </dev/null >/dev/null 2>&1; echo "status $?"`

export async function runsOnCpu(probe: string, asRoot = process.getuid?.() === 0): Promise<CpuAnswer> {
  const unshare = ['unshare', '--user', '--map-root-user', '--mount', '/bin/sh', '-c', WITHOUT_ENTRIES, probe]
  const attempts = asRoot ? [unshare] : [unshare, ['sudo', '-n', ...unshare]]
  const why: string[] = []
  for (const [tool, ...args] of attempts) {
    const { status, out } = await inGroup(tool, args, 'pipe')
    const answer = /^status (\d+)$/m.exec(out)
    if (answer) return { runs: Number(answer[1]) === PROBE_EXIT_CODE }
    if (/^nomount$/m.test(out))
      why.push(`${tool}: this kernel gives a user namespace no binfmt_misc of its own (Linux 6.7 and later do)`)
    else if (/^notempty$/m.test(out)) why.push(`${tool}: the private binfmt_misc instance was not empty`)
    else why.push(`${tool}: could not start a private user namespace (exit ${status ?? 'timed out'})`)
  }
  return { unknown: why.join('; ') }
}
