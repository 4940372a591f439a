/**
 * Stage 2: what the host already is. Which platforms it runs natively, found by running probes, not
 * by uname; and what binfmt_misc holds now. Nativeness is known, never guessed: a platform of the
 * host's own family that an entry claims is asked of the CPU itself, and if that cannot be done it is
 * never registered.
 */
import * as fs from 'node:fs/promises'
import { handlersOf, type Entry } from '../binfmt/entry.js'
import { bootId, fingerprint, globallyEnabled, readEntries } from '../binfmt/table.js'
import { PLATFORMS, byArch, type Platform } from '../platform/platforms.js'
import { fromNodeArch, platformOfMachine } from '../platform/arch.js'
import { probeHost, probesToRun, runsOnCpu, type CpuAnswer, type HostProbes, type ProbeResult } from '../probe/run.js'
import { engineElsewhere } from '../engine/endpoint.js'
import { nativeVariants } from './cpu.js'
import type { EngineView } from './engine-view.js'
import { EngineTable, RunnerTable, type KernelTable } from './table.js'
import { NotMountedError, ensureMounted, type MountResult } from './mount.js'
import { noexecMountIn } from '../scratch.js'

export interface HostState {
  mount: MountResult
  entries: Map<string, Entry>
  /** platforms the CPU runs itself */
  native: Platform[]
  /** the micro-architecture variants of the host's own platform the CPU runs: linux/amd64/v2, ... */
  variants: string[]
  /** platforms of the host's family whose nativeness could not be learned, by arch, with why */
  undecided: Map<string, string>
  /** probe paths by arch, for every platform in the table */
  probes: Map<string, string>
  /** probe results before this run changed anything (for the host's family, the requested platforms and those an entry claims) */
  before: Map<string, ProbeResult>
  /** the boot id of the kernel whose table this is: every later write must find the same one */
  bootId: string
  /** where binfmt_misc is read, written, verified and restored: the runner's own, or through the engine */
  table: KernelTable
}

/** What must never be registered here: what the host runs natively, and what it may. */
export const protectedPlatforms = (h: Pick<HostState, 'native' | 'undecided'>): Platform[] => [
  ...h.native,
  ...[...h.undecided.keys()].map(byArch)
]

export type Nativeness = 'native' | 'foreign' | { undecided: string }

/**
 * Whether the CPU runs a platform itself. Only the host's own family can be native. Without an entry
 * claiming its probe, the probe's own result says; with one, only the CPU's answer asked where no
 * entry can claim it (`cpu`) does.
 */
export function nativeness(
  p: Platform,
  own: Platform | undefined,
  result: ProbeResult | undefined,
  handlers: readonly Entry[],
  cpu?: CpuAnswer
): Nativeness {
  if (p === own) return 'native'
  if (own && p.family !== own.family) return 'foreign'
  if (handlers.length === 0) {
    if (result?.ok) return 'native'
    if (result && result.error !== 'timed out') return 'foreign'
    return { undecided: `its probe ${result ? 'did not finish' : 'did not run'}` }
  }
  if (cpu && 'runs' in cpu) return cpu.runs ? 'native' : 'foreign'
  const names = handlers.map(e => e.name).join(', ')
  return {
    undecided:
      `${names} claims its binaries, and whether the CPU runs them itself could not be learned without ` +
      `${handlers.length > 1 ? 'them' : 'it'}${cpu && 'unknown' in cpu ? ` (${cpu.unknown})` : ''}`
  }
}

/** The host's own platform must pass its probe: otherwise no probe on this host can be believed. */
async function checkOwnProbe(own: Platform, result: ProbeResult | undefined, probeDir: string): Promise<void> {
  if (result?.ok) return
  const noexec = noexecMountIn(await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => ''), probeDir)
  const why = noexec
    ? `${probeDir} is on ${noexec}, which is mounted noexec: point RUNNER_TEMP at a filesystem that allows running programs`
    : 'a security policy (seccomp, AppArmor, SELinux) or the filesystem of RUNNER_TEMP may forbid running programs there'
  throw new Error(
    `this host cannot run its own ${own.platforms[0]} probe (${result?.error ?? 'not run'}${result?.detail ? `: ${result.detail}` : ''}), ` +
      `so nothing it would say about other platforms can be trusted, and nothing was changed. ${why}.`
  )
}

/** The probes, with the entries there just before they ran. */
async function probeAgainst(
  probeDir: string,
  requested: 'all' | readonly Platform[],
  nodeArch: string
): Promise<HostProbes & { seen: string }> {
  const entries = await readEntries()
  return { ...(await probeHost(probeDir, requested, entries, nodeArch)), seen: fingerprint(entries) }
}

export async function inspectHost(
  probeDir: string,
  requested: 'all' | readonly Platform[],
  /** probes started before the toolkit loaded, for the same request, with the entries seen just before */
  early?: Promise<(HostProbes & { seen: string }) | undefined>,
  nodeArch: string = process.arch,
  /** the engine, to read the table through when this process cannot */
  engine?: EngineView
): Promise<HostState> {
  const own = fromNodeArch(nodeArch)
  const first = (await early) ?? (await probeAgainst(probeDir, requested, nodeArch))
  // before anything changes, mounting included
  if (own) await checkOwnProbe(own, first.before.get(own.arch), probeDir)
  const elsewhere = engine && engineElsewhere()
  if (engine && elsewhere) return inspectInEngine(engine, elsewhere, first, requested, nodeArch)
  let mount: MountResult
  try {
    mount = await ensureMounted()
  } catch (err) {
    if (!engine || !(err instanceof NotMountedError)) throw err
    const why = `this runner does not see binfmt_misc and cannot mount it (${err.why})`
    return inspectInEngine(engine, why, first, requested, nodeArch)
  }
  let seen = first.seen
  let probed = first
  let entries = await readEntries()
  // the probes mean something only against the entries there while they ran: another job may change them
  for (let tries = 0; seen !== fingerprint(entries); tries++) {
    if (tries === 3) throw keptChanging()
    probed = await probeAgainst(probeDir, requested, nodeArch)
    seen = probed.seen
    entries = await readEntries()
  }
  const { probes, before } = probed
  if (!(await globallyEnabled())) throw switchedOff()
  const { native, undecided } = await nativenessOf(own, before, entries, probes, true, probed.cpu)
  return {
    mount,
    entries,
    native,
    variants: await nativeVariants(own),
    undecided,
    probes,
    before,
    bootId: await bootId(),
    table: new RunnerTable()
  }
}

const keptChanging = (): Error =>
  new Error('binfmt_misc kept changing while this step looked at it (another job registering?): try again')

const switchedOff = (): Error =>
  new Error(
    'binfmt_misc is switched off on this host (its status file says disabled), so no emulator can run. ' +
      'Switch it on with `echo 1 | sudo tee /proc/sys/fs/binfmt_misc/status` if that is what you want.'
  )

async function nativenessOf(
  own: Platform | undefined,
  before: ReadonlyMap<string, ProbeResult>,
  entries: ReadonlyMap<string, Entry>,
  probes: ReadonlyMap<string, string>,
  /** the CPU can be asked from here: this process runs on the kernel in question */
  canAskCpu: boolean,
  /** its answers already asked for, by arch */
  asked: ReadonlyMap<string, Promise<CpuAnswer>> = new Map()
): Promise<{ native: Platform[]; undecided: Map<string, string> }> {
  const native: Platform[] = []
  const undecided = new Map<string, string>()
  for (const p of PLATFORMS.filter(q => before.has(q.arch) || q === own)) {
    const handlers = handlersOf(p, entries)
    const askCpu = canAskCpu && own && p !== own && p.family === own.family && handlers.length > 0
    const cpu = askCpu ? await (asked.get(p.arch) ?? runsOnCpu(probes.get(p.arch) ?? '')) : undefined
    const n = nativeness(p, own, before.get(p.arch), handlers, cpu)
    if (n === 'native') native.push(p)
    else if (n !== 'foreign') undecided.set(p.arch, n.undecided)
  }
  return { native, undecided }
}

/**
 * The host stage through the engine: a helper reads the table and runs the probes where containers run,
 * and native detection is made from what it saw. The runner's own probes count only on the same kernel.
 */
async function inspectInEngine(
  view: EngineView,
  why: string,
  { probes, cpu }: HostProbes,
  requested: 'all' | readonly Platform[],
  nodeArch: string
): Promise<HostState> {
  const own = fromNodeArch(nodeArch)
  const sent = new Map(probesToRun(requested, nodeArch).map(p => [p.arch, probes.get(p.arch) ?? ''] as const))
  let look = await view.look(sent)
  for (let tries = 0; look.changed; tries++) {
    if (tries === 2) throw keptChanging()
    look = await view.look(sent)
  }
  const engineCpu = platformOfMachine(look.machine)
  if (own && engineCpu && engineCpu !== own) {
    throw new Error(
      `the engine runs on ${look.machine}, and this runner on ${own.cpu}: emulators for one cannot be registered on the ` +
        'other. Use a runner of the same architecture as its engine.'
    )
  }
  if (own && !look.results.get(own.arch)?.ok) {
    const r = look.results.get(own.arch)
    throw new Error(
      `a container on this engine cannot run its own ${own.platforms[0]} probe (${r?.error ?? 'not run'}${r?.detail ? `: ${r.detail}` : ''}), ` +
        'so nothing it would say about other platforms can be trusted, and nothing was changed. Check that helper-image ' +
        "runs on the engine's platform, and that the engine's security policy (seccomp, AppArmor, SELinux) lets its " +
        'containers run programs they are sent.'
    )
  }
  if (!look.enabled) throw switchedOff()
  const sameKernel = look.bootId !== '' && look.bootId === (await bootId())
  const { native, undecided } = await nativenessOf(own, look.results, look.entries, probes, sameKernel, cpu)
  return {
    mount: { mountedNow: false },
    entries: look.entries,
    native,
    // the CPU flags read here are the engine's only on the same kernel
    variants: sameKernel ? await nativeVariants(own) : [],
    undecided,
    probes,
    before: look.results,
    bootId: look.bootId,
    table: new EngineTable(view, why, sameKernel)
  }
}
