/**
 * Stage 5: proving each platform works, after the helper has exited, where the table is. On the runner,
 * where an entry has F and its emulator's path can be seen, the probe runs chrooted into an empty
 * directory, as BuildKit runs its probes: passing there proves what containers need, and the host runs
 * the same entry through the same open file, so the host probe runs only where it did not pass (to say
 * why). Elsewhere a probe runs on the host; where the emulator's path cannot be seen from there, its
 * success proves the kernel holds the file open (F). Through the engine the probe runs in a fresh
 * container, where no emulator file exists, so its success proves an F entry; on the runner's own kernel,
 * the runner's probe must pass too.
 */
import * as fs from 'node:fs/promises'
import type { Entry } from '../binfmt/entry.js'
import { handlersOf } from '../binfmt/entry.js'
import { RunnerTable, type KernelTable } from '../host/table.js'
import { entryName, type Platform } from '../platform/platforms.js'
import type { ProbeResult } from '../probe/run.js'
import type { Decision } from '../register/plan.js'
import type { ChangeResult } from '../register/registrar.js'
import { STATIC, WITHOUT_F, explain, writeErrors } from './explain.js'

export { chrootResult } from '../probe/chroot.js'
export { explain, writeErrors } from './explain.js'

export interface Verdict {
  platform: Platform
  native: boolean
  ok: boolean
  /** how it was shown to work, or what was tried */
  how: string
  /** why it does not work, with what to do */
  reason?: string
}

/** What the host was seen to be since the last change: nothing need be read or run again. */
export interface Unchanged {
  results: ReadonlyMap<string, ProbeResult>
  entries: ReadonlyMap<string, Entry>
}

const visible = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false
  )

const NOT_RUN: ProbeResult = { ok: false, error: 'exec failed', detail: 'the probe did not run' }

/** What is known of one platform once its probe ran where the table is. */
interface Seen {
  platform: Platform
  first: ProbeResult
  own?: Entry
  handler?: Entry
  /** the runner's own probe, where the table is the engine's on the runner's kernel */
  onRunner?: ProbeResult
  /** the handler's emulator can be seen from here, so a chrooted probe can show F */
  visible: boolean
  /** first is the chrooted probe's: it passed, and no host probe was needed */
  chrootOnly?: boolean
}

async function seenOf(
  p: Platform,
  first: ProbeResult,
  entries: ReadonlyMap<string, Entry>,
  onRunner?: ProbeResult
): Promise<Seen> {
  const own = entries.get(entryName(p))
  const handler = own?.enabled ? own : handlersOf(p, entries)[0]
  return { platform: p, first, own, handler, onRunner, visible: handler ? await visible(handler.interpreter) : false }
}

/** Whether a probe chrooted into an empty directory can prove the platform: F on the runner's table, with the emulator in sight. */
const chrootable = (s: Pick<Seen, 'handler' | 'visible'>, table: KernelTable): boolean =>
  table.where === 'runner' && s.handler?.flags.includes('F') === true && s.visible

/** Whether a verdict waits for a probe chrooted into an empty directory: chrootable, and the host probe passed. */
const wantsChroot = (s: Seen, table: KernelTable): boolean => s.first.ok && chrootable(s, table)

/** How a platform proven by its chrooted probe alone works. */
const CHROOT_ONLY = 'probe chrooted into an empty directory: F proven, and the host runs the same entry'

/**
 * The chrooted probes of the platforms they can prove, run before any host probe: what passed there, as
 * the table was when the probes were chosen; results undefined when no chroot can be done here (then no
 * platform needs one run later either).
 */
async function chrootFirst(
  platforms: readonly Platform[],
  probes: ReadonlyMap<string, string>,
  table: KernelTable,
  scratchDir: string
): Promise<{ results: ReadonlyMap<string, ProbeResult> | undefined; proven: ReadonlyMap<string, Seen> }> {
  if (table.where !== 'runner') return { results: new Map(), proven: new Map() }
  const entries = await table.read()
  const seen = (await Promise.all(platforms.map(async p => seenOf(p, NOT_RUN, entries)))).filter(s => chrootable(s, table))
  const results = await chrooted(seen, probes, table, scratchDir)
  const passed = seen.filter(s => results?.get(s.platform.arch)?.ok === true)
  return { results, proven: new Map(passed.map(s => [s.platform.arch, { ...s, first: { ok: true }, chrootOnly: true }])) }
}

/** Those platforms' probes chrooted, all at once; undefined when no chroot can be done here. */
async function chrooted(
  seen: readonly Seen[],
  probes: ReadonlyMap<string, string>,
  table: KernelTable,
  scratchDir: string
): Promise<ReadonlyMap<string, ProbeResult> | undefined> {
  const paths = new Map(seen.map(s => [s.platform.arch, probes.get(s.platform.arch) ?? '']))
  return paths.size > 0 ? table.chrooted(paths, scratchDir) : new Map()
}

/** The chrooted probes the verdicts wait for. */
const chrootsFor = (
  seen: readonly Seen[],
  probes: ReadonlyMap<string, string>,
  table: KernelTable,
  scratchDir: string
): Promise<ReadonlyMap<string, ProbeResult> | undefined> =>
  chrooted(
    seen.filter(s => wantsChroot(s, table)),
    probes,
    table,
    scratchDir
  )

/** One platform's verdict from its probe where the table is, (on the engine's shared kernel) on the runner, and chrooted. */
function verdictFor(s: Seen, table: KernelTable, chroots: ReadonlyMap<string, ProbeResult> | undefined): Verdict {
  const { platform: p, first, handler, own, onRunner } = s
  const at = table.where === 'engine' ? 'probe in a container' : 'probe on the host'
  const failed = (how: string, reason: string): Verdict => ({ platform: p, native: false, ok: false, how, reason })
  const works = (how: string): Verdict => ({ platform: p, native: false, ok: true, how })
  if (!first.ok) return failed(at, explain(first, handler, own))
  if (s.chrootOnly) return works(CHROOT_ONLY)
  if (!handler) return { platform: p, native: true, ok: true, how: `${at}, no handler: native` }
  if (onRunner && !onRunner.ok) return failed('probe on the runner', explain(onRunner, handler, own))
  if (table.where === 'engine')
    return works(`probe in a container without the emulator (F proven)${onRunner ? ', and on the runner' : ''}`)
  if (!handler.flags.includes('F')) {
    return failed(
      at,
      `handler without F: ${handler.name} works on the host only; containers and BuildKit cannot open ${handler.interpreter}${WITHOUT_F}`
    )
  }
  if (!s.visible) return works('host probe, emulator path not on host (F proven)')
  const chrooted = chroots?.get(p.arch)
  // not root and no sudo: the kernel shows F, which is what the chrooted run would have shown
  if (!chrooted) return works('host probe; F flag set (no chroot here to run it in an empty root)')
  if (chrooted.ok) return works('host probe + probe chrooted into an empty directory')
  return failed(
    'probe chrooted into an empty directory',
    chrooted.error === 'interpreter missing' || chrooted.error === 'exec failed'
      ? `the emulator ${handler.interpreter} could not be started in an empty root, as containers start it (${chrooted.detail ?? chrooted.error})${STATIC}`
      : explain(chrooted, handler, own)
  )
}

/** Verdicts for every decision; platforms the source lacks fail without a probe. */
export async function verify(
  decisions: readonly Decision[],
  probes: ReadonlyMap<string, string>,
  scratchDir: string,
  writes: readonly ChangeResult[] = [],
  unchanged?: Unchanged,
  /** where the table is: verify there, and on the runner too where it shares the kernel */
  table: KernelTable = new RunnerTable()
): Promise<Verdict[]> {
  const probed = decisions.filter(d => d.action !== 'native' && d.action !== 'unavailable').map(d => d.platform)
  // what the host stage saw is still so: its host probes stand, and only a chroot can add to them
  const early = unchanged ? undefined : await chrootFirst(probed, probes, table, scratchDir)
  const proven = early?.proven ?? new Map<string, Seen>()
  const paths = new Map(probed.filter(p => !proven.has(p.arch)).map(p => [p.arch, probes.get(p.arch) ?? '']))
  const [seen, onRunner] = await Promise.all([unchanged ?? table.probe(paths), table.onRunner(paths)])
  // through the engine the table is read by a later container than the one that wrote it
  const errors = writeErrors(writes, seen.entries, table.where === 'engine')
  const known = await Promise.all(
    probed.map(async p => {
      const chrootOnly = proven.get(p.arch)
      if (chrootOnly) return chrootOnly
      const first = await table.again(probes.get(p.arch) ?? '', seen.results.get(p.arch) ?? NOT_RUN)
      return seenOf(p, first, seen.entries, onRunner?.get(p.arch))
    })
  )
  const chroots = early ? early.results : await chrootsFor(known, probes, table, scratchDir)
  const byArch = new Map(known.map(s => [s.platform.arch, s]))
  return decisions.map((d): Verdict => {
    if (d.action === 'native') return { platform: d.platform, native: true, ok: true, how: 'native probe' }
    const s = byArch.get(d.platform.arch)
    if (d.action === 'unavailable' || !s)
      return { platform: d.platform, native: false, ok: false, how: 'not registered', reason: d.reason }
    const v = verdictFor(s, table, chroots)
    const error = errors.get(d.platform.arch)
    return !v.ok && error ? { ...v, reason: error } : v
  })
}

/**
 * Platforms nobody asked for that work through entries this step did not add: usable by buildx, so
 * listed. Each is proven as a requested one is; only those an enabled entry claims can work at all.
 */
export async function alsoWorking(
  candidates: readonly Platform[],
  probes: ReadonlyMap<string, string>,
  scratchDir: string,
  unchanged?: Unchanged,
  table: KernelTable = new RunnerTable()
): Promise<Verdict[]> {
  const entries = unchanged?.entries ?? (await table.read())
  const claimed = candidates.filter(p => handlersOf(p, entries).length > 0)
  const paths = new Map(claimed.map(p => [p.arch, probes.get(p.arch) ?? '']))
  const results = unchanged?.results ?? (await table.probe(paths)).results
  const known = await Promise.all(
    claimed.flatMap(p => {
      const first = results.get(p.arch)
      return first?.ok ? [seenOf(p, first, entries)] : []
    })
  )
  const chroots = await chrootsFor(known, probes, table, scratchDir)
  const verdicts = known.map(s => verdictFor(s, table, chroots))
  return verdicts
    .filter(v => v.ok && !v.native)
    .map(v => ({
      ...v,
      how: `${v.how}, through ${handlersOf(v.platform, entries)[0]?.name ?? 'an entry'} (not added by this step)`
    }))
}
