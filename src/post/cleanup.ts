/**
 * The post step: with `cleanup: true`, remove what main added and put back what it removed. It works
 * from what main planned, saved before anything was written, and from what the kernel shows now, so
 * it also undoes a main step that stopped part-way. It never fails the job: every problem is a warning.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import { SOURCE_KINDS } from '../acquire/index.js'
import { entryMatches, lineForEntry, type Entry } from '../binfmt/entry.js'
import { BINFMT_MISC, bootId } from '../binfmt/table.js'
import type { EngineView } from '../host/engine-view.js'
import { EngineTable, RunnerTable, type KernelTable } from '../host/table.js'
import { readInputs, type Inputs } from '../inputs/inputs.js'
import * as log from '../log.js'
import { PLATFORMS, byArch, type Platform } from '../platform/platforms.js'
import { fromNodeArch } from '../platform/arch.js'
import { probeHeader } from '../platform/elf.js'
import { writeProbes } from '../probe/run.js'
import { forPost } from '../factory.js'
import { guardNative, otherKernel, type Change, type ChangeResult, type Mount } from '../register/registrar.js'
import { makeScratchDir } from '../scratch.js'
import { readCleanup, savedThroughEngine, type CleanupState } from '../state.js'

/**
 * What post writes, name by name: remove our entry where one is still there (a later step may have put
 * its own in its place: that one stays), then put back the entry that was there, unless someone else's
 * holds the name now. An entry switched off when it was removed comes back switched off.
 */
export function cleanupPlan(
  state: CleanupState,
  current: ReadonlyMap<string, Entry>,
  /** whether a path is on the host the helper's bind mounts come from (undefined: it may be; the engine will say) */
  onHost: (file: string) => boolean | undefined = fs.existsSync
): { changes: Change[]; mounts: Mount[] } {
  const ours = (e: Entry | undefined): boolean => e !== undefined && e.interpreter.startsWith(`${state.interpreterDir}/`)
  const changes: Change[] = []
  for (const name of [...new Set([...state.added, ...state.removed.map(e => e.name)])]) {
    const now = current.get(name)
    if (ours(now)) changes.push({ op: 'remove', name, onlyIfIn: state.interpreterDir })
    const was = state.removed.find(e => e.name === name)
    const line = was && lineForEntry(was)
    if (was && line && (!now || ours(now))) changes.push({ op: 'add', name, line, disabled: !was.enabled })
  }
  // an F entry is reopened at registration: show the helper its interpreter where the host has it
  const mounts: Mount[] = state.removed
    .filter(
      e => e.flags.includes('F') && changes.some(c => c.op === 'add' && c.name === e.name) && onHost(e.interpreter) !== false
    )
    .map(e => ({ host: e.interpreter, target: e.interpreter }))
  return { changes, mounts }
}

/**
 * An F entry comes back by its path, and the file there may not be the one the kernel had open: run
 * the probe of each platform a restored F entry claims, and say so when it fails.
 */
async function checkRestored(restored: readonly Entry[], table: KernelTable): Promise<void> {
  const claimed = PLATFORMS.filter(p => restored.some(e => e.enabled && e.flags.includes('F') && entryMatches(e, probeHeader(p))))
  if (claimed.length === 0) return
  const dir = makeScratchDir()
  try {
    const probes = writeProbes(dir, claimed)
    const { results } = await table.probe(probes)
    for (const p of claimed) {
      const r = results.get(p.arch)
      if (r && !r.ok) {
        log.warning(
          `${p.platforms[0]} programs no longer run after restoring the entry for them (${r.error}${r.detail ? `: ${r.detail}` : ''}): ` +
            'an F entry is put back by its path, and the file there is not the one it had open'
        )
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const VERB: Record<Change['op'], string> = { add: 'restore', remove: 'remove' }

function report(r: ChangeResult): void {
  const line = `${VERB[r.change.op]} ${r.change.name}: ${r.status}${r.error ? ` (${r.error})` : ''}`
  if (r.status === 'failed') log.warning(line)
  else if (r.change.op === 'add' && r.status === 'exists')
    log.warning(`${line}: another entry holds the name now, and it was left as it is`)
  else log.info(line)
}

type Compared = Pick<Inputs, 'helperImage' | 'privileged' | 'registerFrom'>

/** The registrar main used is one the input allows now. */
const allows = (from: Inputs['registerFrom'], state: Pick<CleanupState, 'registrar'>): boolean =>
  from === 'auto' || from === state.registrar

/** Whether post sees an input differently from main: then the saved state is not used. */
export const differs = (state: Pick<CleanupState, 'helperImage' | 'privilege' | 'registrar'>, inputs: Compared): boolean =>
  state.helperImage !== inputs.helperImage || state.privilege !== inputs.privileged || !allows(inputs.registerFrom, state)

/** Which input post sees differently from main, with both values, and what to do. */
export function mismatch(state: Pick<CleanupState, 'helperImage' | 'privilege' | 'registrar'>, inputs: Compared): string {
  const differ = [
    state.helperImage !== inputs.helperImage
      ? `helper-image was ${state.helperImage} in main and is ${inputs.helperImage} now`
      : '',
    state.privilege !== inputs.privileged ? `privileged was ${state.privilege} in main and is ${inputs.privileged} now` : '',
    allows(inputs.registerFrom, state)
      ? ''
      : `register-from is ${inputs.registerFrom} now, and main registered ` +
        (state.registrar === 'runner' ? 'from the runner itself' : 'through a helper container')
  ].filter(Boolean)
  return (
    `the saved cleanup state was not used, so nothing was put back: ${differ.join(', and ')}. Post uses only what ` +
    "main recorded with the same inputs, as what it runs writes the kernel's table. Give these inputs values " +
    'that stay the same for the whole job (not an expression whose value changes after main), and put the entries ' +
    'back by hand this time, or let the machine go if it is ephemeral.'
  )
}

/** The runner's own table is the one main changed: the same kernel, still mounted. */
async function sameKernel(state: CleanupState): Promise<void> {
  const now = await bootId()
  if (state.bootId && now && now !== state.bootId) throw otherKernel(now, state.bootId)
  if (state.registrar === 'runner' && !fs.existsSync(`${BINFMT_MISC}/register`)) {
    throw new Error('binfmt_misc is no longer mounted on this runner: what main registered went with it, and nothing was changed')
  }
}

/** The table main changed: as main did, through the engine when it did, or when a helper's process cannot read the runner's. */
function tableOf(state: CleanupState, view: EngineView | undefined): KernelTable {
  const throughEngine =
    state.registrar === 'container' && (savedThroughEngine(state) || !fs.existsSync(`${BINFMT_MISC}/register`))
  return throughEngine && view ? new EngineTable(view) : new RunnerTable()
}

export async function cleanup(): Promise<void> {
  try {
    const state = readCleanup()
    if (!state) return
    // the state is only main's own when the inputs still say so
    const inputs = readInputs(SOURCE_KINDS)
    if (!inputs.cleanup) return
    if (differs(state, inputs)) throw new Error(mismatch(state, inputs))
    await core.group('Cleanup', async () => {
      const registrar = forPost(state)
      // the kernel main changed, and no other: a helper refuses another, as the runner does below
      if (state.bootId) registrar.expectKernel(state.bootId)
      const table = tableOf(state, registrar.view)
      if (table.where === 'runner') await sameKernel(state)
      const current = await table.read()
      // through the engine, interpreters are bound from the engine's host, which this process may not see
      const { changes, mounts } = cleanupPlan(state, current, file => table.exists(file))
      if (changes.length === 0) {
        log.info('nothing to clean up')
        return
      }
      const own = fromNodeArch(process.arch)
      const native = [...new Set<Platform>([...state.native.map(byArch), ...(own ? [own] : [])])]
      const allowed = changes.filter(c => {
        try {
          guardNative([c], native)
          return true
        } catch (err) {
          log.warning(
            `not putting back ${c.name}, which this run removed: ${(err as Error).message}. It stays removed; if a tool ` +
              'of yours needs it, have that tool register it again (its package, or its own setup step).'
          )
          return false
        }
      })
      // an interpreter the engine's host does not have is sent from here by the registrar, if this runner has it
      const results = await registrar.apply(allowed, native, mounts)
      results.forEach(report)
      const restored = results.filter(r => r.change.op === 'add' && r.status === 'ok').map(r => r.change.name)
      await checkRestored(
        state.removed.filter(e => restored.includes(e.name)),
        table
      )
    })
  } catch (err) {
    log.warning(`cleanup did not finish: ${(err as Error).message}`)
  }
}
