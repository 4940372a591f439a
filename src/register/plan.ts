/**
 * What to do for each platform, decided from what the host is now. Pure: the same facts give the
 * same plan, and the tests can show every case without a kernel.
 */
import { isPlainName, registrationLine, sameAs, type Entry } from '../binfmt/entry.js'
import { handlersOf } from '../binfmt/entry.js'
import { PLATFORMS, entryName, type Platform } from '../platform/platforms.js'
import type { ProbeResult } from '../probe/run.js'
import type { Change } from './registrar.js'

export type Action = 'native' | 'keep' | 'add' | 'replace' | 'unavailable'

export interface Decision {
  platform: Platform
  action: Action
  /** why, in words for the log and the summary */
  reason: string
  /** the entry of our name that was there before, if any */
  existing?: Entry
}

export interface PlanInput {
  requested: readonly Platform[]
  native: readonly Platform[]
  entries: ReadonlyMap<string, Entry>
  before: ReadonlyMap<string, ProbeResult>
  /** platforms of the host's family that may be native (by arch, with why): never registered */
  undecided?: ReadonlyMap<string, string>
  /** the platforms the source has emulators for; undefined when not known yet */
  has?: ReadonlySet<string>
  reset: boolean
  /** the interpreter path this run registers for a platform, when the emulators are known */
  interpreter?: (p: Platform) => string
}

function unhealthy(e: Entry, probe: ProbeResult | undefined): string | undefined {
  if (!e.enabled) return 'it is disabled'
  if (!e.flags.includes('F')) return `it has no F flag (flags "${e.flags}"), so containers cannot use ${e.interpreter}`
  if (!probe?.ok) return `its probe failed (${probe?.error ?? 'not run'}${probe?.detail ? `: ${probe.detail}` : ''})`
  return undefined
}

export function decide(i: PlanInput): Decision[] {
  return i.requested.map((p): Decision => {
    if (i.native.includes(p)) return { platform: p, action: 'native', reason: 'the host runs it natively' }
    const existing = i.entries.get(entryName(p))
    const probe = i.before.get(p.arch)
    const inSource = i.has === undefined || i.has.has(p.arch)
    const mayBeNative = i.undecided?.get(p.arch)
    const register = (action: 'add' | 'replace', reason: string): Decision =>
      mayBeNative !== undefined
        ? {
            platform: p,
            action: 'unavailable',
            reason: `not registered, as this host may run it natively: ${mayBeNative}`,
            existing
          }
        : inSource
          ? { platform: p, action, reason, existing }
          : { platform: p, action: 'unavailable', reason: `the source has no qemu-${p.cpu}`, existing }

    if (i.reset) return register('add', 'reset: registering afresh')
    if (existing) {
      const why = unhealthy(existing, probe)
      if (!why) {
        const ours = i.interpreter && sameAs(existing, p, i.interpreter(p))
        return {
          platform: p,
          action: 'keep',
          reason: ours ? 'already registered by this action' : `kept the healthy entry there (${existing.interpreter})`,
          existing
        }
      }
      return register('replace', `replacing ${existing.name}: ${why}`)
    }
    // no entry of our name, but another may already handle it well
    const other = handlersOf(p, i.entries).find(e => !unhealthy(e, probe))
    if (other) return { platform: p, action: 'keep', reason: `handled by the healthy entry ${other.name}` }
    return register('add', 'not registered yet')
  })
}

export const needsEmulators = (d: Decision): boolean => d.action === 'add' || d.action === 'replace'

/**
 * Whether the table alone, before any probe, says this run registers: a reset, or a requested platform
 * of another family than the host's (so never native) that no entry handles.
 */
export function registersFromTable(
  requested: 'all' | readonly Platform[],
  entries: ReadonlyMap<string, Entry>,
  host: Platform,
  reset: boolean
): boolean {
  const platforms = requested === 'all' ? PLATFORMS : requested
  return reset || platforms.some(p => p.family !== host.family && handlersOf(p, entries).length === 0)
}

/**
 * The kernel writes the plan needs, in an order that never leaves anyone without an entry for long:
 * each name is removed just before its new entry is added, and with `reset` the other qemu-* entries
 * go only after every add. Entries `removable` refuses (say, ones that could not be put back) stay.
 */
export function changesFor(
  decisions: readonly Decision[],
  entries: ReadonlyMap<string, Entry>,
  reset: boolean,
  interpreter: (p: Platform) => string,
  removable: (e: Entry) => boolean = e => isPlainName(e.name)
): Change[] {
  const changes: Change[] = []
  const adding = new Set<string>()
  for (const d of decisions.filter(needsEmulators)) {
    const name = entryName(d.platform)
    const there = entries.get(name)
    if (there && !removable(there)) continue
    adding.add(name)
    if (there) changes.push({ op: 'remove', name })
    changes.push({ op: 'add', name, line: registrationLine(d.platform, interpreter(d.platform)) })
  }
  if (reset) {
    const others = [...entries.values()].filter(e => e.name.startsWith('qemu-') && !adding.has(e.name) && removable(e))
    changes.push(
      ...others
        .map(e => e.name)
        .sort()
        .map((name): Change => ({ op: 'remove', name }))
    )
  }
  return changes
}
