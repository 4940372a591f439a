/**
 * Stage 4 as main runs it: the writes the plan needs, recorded for post before any is made, so a step
 * that stops part-way can still be undone, and a failure says exactly what the table lost.
 */
import { lineForEntry, isPlainName, type Entry } from '../binfmt/entry.js'
import { engineEndpoint } from '../engine/endpoint.js'
import { protectedPlatforms, type HostState } from '../host/inspect.js'
import type { Inputs } from '../inputs/inputs.js'
import * as log from '../log.js'
import { byArch, emulatorName } from '../platform/platforms.js'
import { plannedCleanup, saveCleanup } from '../state.js'
import type { PrivilegeMode } from '../helper/args.js'
import { changesFor } from './plan.js'
import type { Prepared } from './prepare.js'
import { NativeFormatError, type ChangeResult, type Registrar } from './registrar.js'

/** The entries that were there before and are gone now (read where the table was read). */
async function lost(host: HostState): Promise<string> {
  const before = host.entries
  const now = await host.table.read().catch(() => undefined)
  if (!now) return ''
  const gone = [...before.keys()].filter(n => !now.has(n))
  return gone.length
    ? ` binfmt_misc no longer has ${gone.join(', ')}, which ${gone.length > 1 ? 'were' : 'was'} there before this step.`
    : ''
}

/** The guard checks every change before the first is made; the plan never asks for what it refuses. */
const GUARD_STOPPED =
  'Nothing was written: the step stopped before its first change. The plan never registers a platform this host ' +
  'may run natively, whatever the inputs say, so this stop is a fault in this action: run the step again, and if it ' +
  'stops here again, report it with this log, and leave that platform out of `platforms` meanwhile.'

export async function register(
  prepared: Prepared,
  host: HostState,
  inputs: Inputs,
  registrar: Registrar & { readonly mode?: PrivilegeMode; sudo?: boolean }
): Promise<ChangeResult[]> {
  const { decisions, emulators } = prepared
  for (const d of decisions) log.info(`${d.platform.platforms[0]}: ${d.action} (${d.reason})`)
  // with cleanup, only what can be put back is taken away
  const removable = (e: Entry): boolean => isPlainName(e.name) && (!inputs.cleanup || lineForEntry(e) !== undefined)
  const changes = changesFor(decisions, host.entries, inputs.reset, prepared.interpreter, removable)
  if (changes.length === 0) {
    log.info('nothing to register')
    await registrar.release()
    return []
  }
  const save = (): void => {
    if (!inputs.cleanup) return
    saveCleanup({
      ...plannedCleanup(changes, host.entries),
      interpreterDir: emulators ? registrar.interpreterDir(emulators.key, emulators.dir) : '/',
      native: protectedPlatforms(host).map(p => p.arch),
      registrar: registrar.kind,
      ...(registrar.sudo ? { sudo: true } : {}),
      ...(host.bootId ? { bootId: host.bootId } : {}),
      // the engine as the CLI reaches it now: post reaches the same one, whatever the job says by then
      ...(registrar.kind === 'container' ? { endpoint: engineEndpoint() } : {}),
      helperImage: inputs.helperImage,
      privilege: inputs.privileged,
      mode: registrar.mode,
      timeout: inputs.timeout,
      ...(host.table.where === 'engine' ? { engine: true } : {})
    })
  }
  save()
  // only what acquire handed over is shown to the helper: its own snapshot, never the shared tool cache
  const adds = changes.some(c => c.op === 'add')
  // an engine that cannot see this runner's files gets them sent on the helper's stdin instead
  const mounts =
    emulators && adds
      ? host.table.mountsFor(
          emulators.dir,
          registrar.interpreterDir(emulators.key, emulators.dir),
          [...emulators.archs].map(arch => emulatorName(byArch(arch)))
        )
      : []
  let results: ChangeResult[]
  try {
    results = await registrar.apply(changes, protectedPlatforms(host), mounts)
  } catch (err) {
    if (err instanceof NativeFormatError) throw new Error(`${err.message}. ${GUARD_STOPPED}`)
    throw new Error(
      `${(err as Error).message}${await lost(host)}${inputs.cleanup ? ' The post step puts back what it can.' : ''}`
    )
  }
  save() // now with the privilege that worked, for post to use the same
  for (const r of results) log.info(`${r.change.op} ${r.change.name}: ${r.status}${r.error ? ` (${r.error})` : ''}`)
  if (results.some(r => r.status === 'failed')) {
    const missing = await lost(host)
    if (missing)
      log.warning(
        `${missing.trim()}${inputs.cleanup ? ' The post step puts back what it can.' : ' With cleanup: true the post step would put them back.'}`
      )
  }
  return results
}
