/**
 * Stage 5: proving each platform works, after the helper has exited. A probe runs on the host; where
 * the emulator's path cannot be seen from there, its success proves the kernel holds the file open (F),
 * which is what containers and BuildKit's chrooted probes need. Where the path can be seen, the probe is
 * run again chrooted into an empty directory, as BuildKit does.
 */
import * as io from '@actions/io'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { readEntries } from '../binfmt/table.js'
import type { Entry } from '../binfmt/entry.js'
import { handlersOf } from '../binfmt/entry.js'
import type { ThroughEngine } from '../host/inspect.js'
import { PLATFORMS, entryName, type Platform } from '../platform/platforms.js'
import { fromStatus, runProbe, runProbes, runStatus, type ProbeResult } from '../probe/run.js'
import type { Decision } from '../register/plan.js'
import type { ChangeResult } from '../register/registrar.js'

export interface Verdict {
  platform: Platform
  native: boolean
  ok: boolean
  /** how it was shown to work, or what was tried */
  how: string
  /** why it does not work, with what to do */
  reason?: string
}

const visible = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false
  )

/**
 * What a chrooted probe's exit status says: undefined when the probe never ran (chroot exits 125 when
 * it cannot chroot; `sudo -n` exits 1 when it would ask for a password, but as root 1 is the probe's own).
 */
export function chrootResult(status: number | undefined, viaSudo: boolean): ProbeResult | undefined {
  if (status === 125 || (viaSudo && status === 1)) return undefined
  return status === undefined ? { ok: false, error: 'timed out' } : fromStatus(status)
}

/**
 * Runs a probe chrooted into a directory that holds nothing else, so only an F entry can run it, as
 * BuildKit does. Undefined when no chroot can be done here.
 */
async function chrootedProbe(probe: string, scratchDir: string): Promise<ProbeResult | undefined> {
  const asRoot = process.getuid?.() === 0
  // found on the step's PATH, and run by that path: a probe's own PATH is the minimal one
  const tool = await io.which(asRoot ? 'chroot' : 'sudo', false)
  if (!tool) return undefined
  const dir = await fs.mkdtemp(path.join(scratchDir, 'chroot-'))
  try {
    await fs.copyFile(probe, path.join(dir, 'probe'))
    await fs.chmod(path.join(dir, 'probe'), 0o755)
    return chrootResult(await runStatus(tool, asRoot ? [dir, '/probe'] : ['-n', 'chroot', dir, '/probe']), !asRoot)
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

/**
 * Why a probe failed. With no enabled entry claiming the binary the kernel can only have refused it
 * (exec format error); Node's exec then hands the file to /bin/sh, so the exit status alone cannot say so.
 */
export function explain(result: ProbeResult, handler: Entry | undefined, own: Entry | undefined): string {
  if (!handler) {
    return own && !own.enabled
      ? `no handler: the entry ${own.name} is disabled; run the step again, which replaces a disabled entry`
      : `no handler: nothing registered claims its binaries${CHANGED_MEANWHILE}`
  }
  switch (result.error) {
    case 'interpreter missing':
      return handler.flags.includes('F')
        ? `interpreter missing: ${handler.interpreter} cannot be started (a dynamic emulator whose loader is missing?)${STATIC}`
        : `handler without F: ${handler.name} points at ${handler.interpreter}, which does not exist here${WITHOUT_F}`
    case 'exec failed':
      return `the kernel refused to run ${handler.interpreter} (${result.detail ?? 'exec failed'}): an emulator built for another host, or on a noexec mount${STATIC}`
    case 'wrong exit code':
      return `the emulator ${handler.interpreter} ran and exited with its own error (${result.detail})${ANOTHER_BUILD}`
    case 'crashed':
      return `the emulator crashed (${result.detail})${ANOTHER_BUILD}`
    default:
      return `${result.error ?? 'failed'}${result.detail ? `: ${result.detail}` : ''}`
  }
}

// what to do, after each reason a probe gives
const CHANGED_MEANWHILE = '; if this step registered it, something removed it since (another job?): run the step again'
const WITHOUT_F = '; remove that entry (reset: true removes qemu-* ones), and this step registers one with F'
const STATIC = "; use static emulators built for this runner's arch, such as the default image's"
const ANOTHER_BUILD = '; this QEMU cannot run its programs: use the default image, or another QEMU build'

async function verifyOne(
  p: Platform,
  probe: string,
  onHost: ProbeResult,
  entries: ReadonlyMap<string, Entry>,
  scratchDir: string
): Promise<Verdict> {
  const own = entries.get(entryName(p))
  const handler = own?.enabled ? own : handlersOf(p, entries)[0]
  if (!onHost.ok)
    return { platform: p, native: false, ok: false, how: 'probe on the host', reason: explain(onHost, handler, own) }
  if (!handler) return { platform: p, native: true, ok: true, how: 'probe on the host, no handler: native' }
  if (!handler.flags.includes('F')) {
    return {
      platform: p,
      native: false,
      ok: false,
      how: 'probe on the host',
      reason: `handler without F: ${handler.name} works on the host only; containers and BuildKit cannot open ${handler.interpreter}${WITHOUT_F}`
    }
  }
  if (!(await visible(handler.interpreter))) {
    return { platform: p, native: false, ok: true, how: 'host probe, emulator path not on host (F proven)' }
  }
  const chrooted = await chrootedProbe(probe, scratchDir)
  if (!chrooted) {
    // not root and no sudo: the kernel shows F, which is what the chrooted run would have shown
    return { platform: p, native: false, ok: true, how: 'host probe; F flag set (no chroot here to run it in an empty root)' }
  }
  if (chrooted.ok) return { platform: p, native: false, ok: true, how: 'host probe + probe chrooted into an empty directory' }
  const reason =
    chrooted.error === 'interpreter missing' || chrooted.error === 'exec failed'
      ? `the emulator ${handler.interpreter} could not be started in an empty root, as containers start it (${chrooted.detail ?? chrooted.error})${STATIC}`
      : explain(chrooted, handler, own)
  return { platform: p, native: false, ok: false, how: 'probe chrooted into an empty directory', reason }
}

/** What the host was seen to be since the last change: nothing need be read or run again. */
export interface Unchanged {
  results: ReadonlyMap<string, ProbeResult>
  entries: ReadonlyMap<string, Entry>
}

/**
 * What went wrong in the writes, by arch: a failed write explains a failed probe better than the probe
 * does, and so does an entry the helper said it added that this host's binfmt_misc does not show.
 */
export function writeErrors(
  writes: readonly ChangeResult[],
  entries: ReadonlyMap<string, Entry>,
  /** the table was read through the engine, by a later container than the one that wrote it */
  throughEngine = false
): Map<string, string> {
  const errors = new Map<string, string>()
  for (const r of writes) {
    const p = PLATFORMS.find(q => entryName(q) === r.change.name)
    if (!p) continue
    if (r.status === 'failed') errors.set(p.arch, `registration failed: ${r.error ?? 'failed'}`)
    else if (r.change.op === 'add' && r.status === 'ok' && !entries.has(r.change.name)) {
      if (throughEngine) {
        errors.set(
          p.arch,
          `the helper registered ${r.change.name}, but once it had exited the engine's binfmt_misc no longer showed it: ` +
            "binfmt_misc is not mounted on the engine's host, and the instance the helper mounted went with it. Run " +
            '`sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc` before this step, on the host the engine runs on ' +
            '(on a systemd host, `sudo systemctl start proc-sys-fs-binfmt_misc.mount`)'
        )
        continue
      }
      errors.set(
        p.arch,
        `the helper registered ${r.change.name}, but this host's binfmt_misc does not show it: the engine's containers ` +
          'see a binfmt_misc of their own (a user-namespaced engine, or one on another machine)'
      )
    }
  }
  return errors
}

/**
 * A platform through the engine: its probe ran in a fresh container, where no emulator file exists, so
 * its success proves an F entry, as BuildKit's chrooted probe would. On the runner's own kernel, the
 * runner's probe must pass too.
 */
function verifyInEngine(
  p: Platform,
  inContainer: ProbeResult,
  onRunner: ProbeResult | undefined,
  entries: ReadonlyMap<string, Entry>
): Verdict {
  const own = entries.get(entryName(p))
  const handler = own?.enabled ? own : handlersOf(p, entries)[0]
  if (!inContainer.ok)
    return { platform: p, native: false, ok: false, how: 'probe in a container', reason: explain(inContainer, handler, own) }
  if (!handler) return { platform: p, native: true, ok: true, how: 'probe in a container, no handler: native' }
  if (onRunner && !onRunner.ok)
    return { platform: p, native: false, ok: false, how: 'probe on the runner', reason: explain(onRunner, handler, own) }
  return {
    platform: p,
    native: false,
    ok: true,
    how: `probe in a container without the emulator (F proven)${onRunner ? ', and on the runner' : ''}`
  }
}

/** Verdicts for every decision; platforms the source lacks fail without a probe. */
export async function verify(
  decisions: readonly Decision[],
  probes: ReadonlyMap<string, string>,
  scratchDir: string,
  writes: readonly ChangeResult[] = [],
  unchanged?: Unchanged,
  /** the table is the engine's: verify there, and on the runner too where it shares the kernel */
  engine?: ThroughEngine
): Promise<Verdict[]> {
  const probed = decisions.filter(d => d.action !== 'native' && d.action !== 'unavailable').map(d => d.platform.arch)
  if (engine) return verifyThroughEngine(decisions, probes, writes, unchanged, engine, probed)
  const [entries, results] = unchanged
    ? [unchanged.entries, unchanged.results]
    : await Promise.all([readEntries(), runProbes(new Map(probed.map(arch => [arch, probes.get(arch) ?? ''])))])
  const errors = writeErrors(writes, entries)
  return Promise.all(
    decisions.map(async (d): Promise<Verdict> => {
      if (d.action === 'native') return { platform: d.platform, native: true, ok: true, how: 'native probe' }
      if (d.action === 'unavailable')
        return { platform: d.platform, native: false, ok: false, how: 'not registered', reason: d.reason }
      const file = probes.get(d.platform.arch) ?? ''
      const batch = results.get(d.platform.arch) ?? { ok: false, error: 'exec failed', detail: 'the probe did not run' }
      // the shell's status cannot tell a missing interpreter from an emulator that exits 127: ask again
      const onHost = batch.error === 'interpreter missing' ? await runProbe(file) : batch
      const v = await verifyOne(d.platform, file, onHost, entries, scratchDir)
      const error = errors.get(d.platform.arch)
      return !v.ok && error ? { ...v, reason: error } : v
    })
  )
}

/**
 * Platforms nobody asked for that work through entries this step did not add: usable by buildx, so
 * listed. Each is proven as a requested one is; only those an enabled entry claims can work at all.
 */
export async function alsoWorking(
  candidates: readonly Platform[],
  probes: ReadonlyMap<string, string>,
  scratchDir: string,
  unchanged?: Unchanged
): Promise<Verdict[]> {
  const entries = unchanged?.entries ?? (await readEntries())
  const claimed = candidates.filter(p => handlersOf(p, entries).length > 0)
  const results = unchanged?.results ?? (await runProbes(new Map(claimed.map(p => [p.arch, probes.get(p.arch) ?? '']))))
  const verdicts = await Promise.all(
    claimed.flatMap(p => {
      const onHost = results.get(p.arch)
      return onHost?.ok ? [verifyOne(p, probes.get(p.arch) ?? '', onHost, entries, scratchDir)] : []
    })
  )
  return verdicts
    .filter(v => v.ok && !v.native)
    .map(v => ({
      ...v,
      how: `${v.how}, through ${handlersOf(v.platform, entries)[0]?.name ?? 'an entry'} (not added by this step)`
    }))
}

async function verifyThroughEngine(
  decisions: readonly Decision[],
  probes: ReadonlyMap<string, string>,
  writes: readonly ChangeResult[],
  unchanged: Unchanged | undefined,
  engine: ThroughEngine,
  probed: readonly string[]
): Promise<Verdict[]> {
  const paths = new Map(probed.map(arch => [arch, probes.get(arch) ?? '']))
  const [look, onRunner] = await Promise.all([
    unchanged ? { entries: unchanged.entries, results: unchanged.results } : engine.view.look(paths),
    engine.sameKernel ? runProbes(paths) : undefined
  ])
  const errors = writeErrors(writes, look.entries, true)
  return decisions.map((d): Verdict => {
    if (d.action === 'native') return { platform: d.platform, native: true, ok: true, how: 'native probe' }
    if (d.action === 'unavailable')
      return { platform: d.platform, native: false, ok: false, how: 'not registered', reason: d.reason }
    const inContainer = look.results.get(d.platform.arch) ?? { ok: false, error: 'exec failed', detail: 'the probe did not run' }
    const v = verifyInEngine(d.platform, inContainer, onRunner?.get(d.platform.arch), look.entries)
    const error = errors.get(d.platform.arch)
    return !v.ok && error ? { ...v, reason: error } : v
  })
}
