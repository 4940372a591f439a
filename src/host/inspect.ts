/**
 * Stage 2: what the host already is. Which platforms it runs natively (found by running probes, not
 * by uname), and what binfmt_misc holds now.
 */
import { ensureMounted, globallyEnabled, readEntries, type MountResult } from '../binfmt/host.js'
import { entryMatches, type Entry } from '../binfmt/entry.js'
import { PLATFORMS, fromNodeArch, type Platform } from '../platforms.js'
import { elfIdent } from '../probe/elf.js'
import { probeHost, type HostProbes, type ProbeResult } from '../probe/run.js'

export interface HostState {
  mount: MountResult
  entries: Map<string, Entry>
  /** platforms whose probe runs with no binfmt_misc entry claiming it */
  native: Platform[]
  /** probe paths by arch, for every platform in the table */
  probes: Map<string, string>
  /** probe results before this run changed anything (for the host's family and the requested platforms) */
  before: Map<string, ProbeResult>
}

/** The enabled entries that would claim this platform's binaries. */
export function handlersOf(p: Platform, entries: ReadonlyMap<string, Entry>): Entry[] {
  const header = elfIdent(p)
  return [...entries.values()].filter(e => e.enabled && entryMatches(e, header))
}

export function nativePlatforms(
  results: ReadonlyMap<string, ProbeResult>,
  entries: ReadonlyMap<string, Entry>,
  nodeArch: string = process.arch
): Platform[] {
  const own = fromNodeArch(nodeArch)
  return PLATFORMS.filter(
    p => p === own || (results.get(p.arch)?.ok === true && handlersOf(p, entries).length === 0)
  )
}

export async function inspectHost(
  probeDir: string,
  requested: 'all' | readonly Platform[],
  /** probes started before the toolkit loaded, for the same request */
  early?: Promise<HostProbes | undefined>
): Promise<HostState> {
  const [mount, { probes, before }] = await Promise.all([
    ensureMounted(),
    (early ?? Promise.resolve(undefined)).then(r => r ?? probeHost(probeDir, requested))
  ])
  const [entries, enabled] = await Promise.all([readEntries(), globallyEnabled()])
  if (!enabled) {
    throw new Error(
      'binfmt_misc is switched off on this host (its status file says disabled), so no emulator can run. ' +
        'Switch it on with `echo 1 | sudo tee /proc/sys/fs/binfmt_misc/status` if that is what you want.'
    )
  }
  return { mount, entries, native: nativePlatforms(before, entries), probes, before }
}
