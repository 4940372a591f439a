/**
 * From the host's state to a plan with the emulators it needs. The plan needs the emulators only to
 * know what `all` means and where entries point; when every requested platform already works, nothing
 * is fetched and no container runs.
 */
import * as core from '@actions/core'
import * as path from 'node:path'
import { reportKnownBad } from '../acquire/known-bad-qemu.js'
import type { CachedEmulators, EmulatorSource, Emulators } from '../acquire/source.js'
import type { HostState } from '../host/inspect.js'
import type { Inputs } from '../inputs/inputs.js'
import * as log from '../log.js'
import { PLATFORMS, emulatorName, type Platform } from '../platform/platforms.js'
import { decide, needsEmulators, type Decision } from './plan.js'
import type { Registrar } from './registrar.js'

export interface Prepared {
  decisions: Decision[]
  /** undefined when nothing had to be fetched and nothing was cached */
  emulators?: Emulators
  /** where this run's entries point, by platform */
  interpreter: (p: Platform) => string
}

/** The platforms to set up: those named, or for `all` every one the source has that may not be native. */
function requestedPlatforms(
  inputs: Inputs,
  emulators: Emulators | CachedEmulators | undefined,
  host: HostState
): Platform[] | undefined {
  if (inputs.platforms !== 'all') return inputs.platforms
  // a cache entry that holds only some emulators cannot say what `all` is
  if (!emulators || ('complete' in emulators && !emulators.complete)) return undefined
  return PLATFORMS.filter(p => emulators.archs.has(p.arch) && !host.native.includes(p) && !host.undecided.has(p.arch))
}

export async function prepare(inputs: Inputs, host: HostState, source: EmulatorSource, registrar: Registrar): Promise<Prepared> {
  const planWith = (emulators: Emulators | undefined): Prepared | undefined => {
    const interpreter = (p: Platform): string =>
      emulators ? path.posix.join(registrar.interpreterDir(emulators.key, emulators.dir), emulatorName(p)) : ''
    const requested = requestedPlatforms(inputs, emulators, host)
    if (!requested) return undefined
    const decisions = decide({
      requested,
      native: host.native,
      undecided: host.undecided,
      entries: host.entries,
      before: host.before,
      // a cache entry with only some emulators cannot say a platform is missing from the source
      has: emulators && (!('complete' in emulators) || emulators.complete) ? emulators.archs : undefined,
      reset: inputs.reset,
      interpreter: emulators && interpreter
    })
    return { decisions, emulators, interpreter }
  }

  const first = planWith(await source.cached())
  if (first && !first.decisions.some(needsEmulators)) {
    log.info('every requested platform already works: nothing to fetch')
    return first
  }
  const emulators = await core.group('Acquire', async () => {
    const wanted = inputs.platforms === 'all' || !first ? 'all' : first.decisions.filter(needsEmulators).map(d => d.platform)
    // the helper image is pulled, and the helper started, while the emulators are fetched; its failure
    // is reported by Register. Through the engine the emulators are sent to it, so it starts then.
    const helperReady = registrar.prepare(host.table.where === 'engine' ? undefined : source.contentKey).catch(() => undefined)
    const [e] = await Promise.all([source.acquire(wanted), helperReady])
    log.info(`emulators from ${e.origin}: ${e.from}`)
    log.info(`has: ${[...e.archs].join(', ')}${e.version ? ` (QEMU ${e.version})` : ''}`)
    reportKnownBad(e.version, inputs.source)
    return e
  })
  return planWith(emulators) ?? { decisions: [], emulators, interpreter: () => '' }
}
