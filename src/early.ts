/**
 * What starts before the toolkit has loaded. Evaluating the bundle is much of this action's time on a
 * host that is already set up; the host probes run in other processes, so
 * this module, imported first by the entry point, starts them as it is evaluated, and they run on
 * another core meanwhile. Only toolkit-free modules come in here, so it is evaluated before the toolkit.
 */
import * as path from 'node:path'
import { fingerprint, readEntriesSync } from './binfmt/table.js'
import { Input, State } from './constants.js'
import { parsePlatforms } from './inputs/validate.js'
import { isLinux } from './linux.js'
import type { Platform } from './platform/platforms.js'
import { probeHost, type HostProbes } from './probe/run.js'
import { makeScratchDir } from './scratch.js'

/** The runner hands state back as STATE_<name>: set by main, so this is the post step. */
export const isPostStep = (env: NodeJS.ProcessEnv = process.env): boolean => env[`STATE_${State.IsPost}`] === 'true'

export interface ProbesInFlight {
  requested: 'all' | Platform[]
  scratchDir: string
  /** undefined when they could not run; main then runs them itself and reports why */
  probing: Promise<(HostProbes & { seen: string }) | undefined>
}

/**
 * Starts the host probes for the platforms input, if it parses; main validates it again and reports.
 * Nothing starts on a system other than Linux: there the step only says it needs a Linux runner.
 */
export function startHostProbes(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform
): ProbesInFlight | undefined {
  if (isPostStep(env) || !isLinux(platform)) return undefined
  try {
    const requested = parsePlatforms((env[`INPUT_${Input.Platforms.toUpperCase()}`] ?? '').trim() || 'all')
    const scratchDir = makeScratchDir(env)
    // the probes are read against the entries there while they ran: take those first
    const entries = readEntriesSync()
    const seen = fingerprint(entries)
    const probing = probeHost(path.join(scratchDir, 'probes'), requested, entries)
      .then(r => ({ ...r, seen }))
      .catch(() => undefined)
    return { requested, scratchDir, probing }
  } catch {
    return undefined // a bad input or an unwritable directory: main runs into it itself and says what went wrong
  }
}

/** Started as this module is evaluated (see above). */
export const probesInFlight = startHostProbes()
