/**
 * The post step: with `cleanup: true`, remove what main added and put back what it removed.
 * It never fails the job: every problem is a warning.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import { lineForEntry, type Entry } from '../binfmt/entry.js'
import { readEntries } from '../binfmt/host.js'
import { Docker } from '../engine/docker.js'
import { HelperRegistrar } from '../register/helper.js'
import type { Change, ChangeResult, Mount } from '../register/registrar.js'
import { byArch } from '../platforms.js'
import { readCleanup, type CleanupState } from '../state.js'

/** What a run changed, for post to undo: entries it added, and entries it removed as they were. */
export function whatChanged(
  results: readonly ChangeResult[],
  before: ReadonlyMap<string, Entry>
): Pick<CleanupState, 'added' | 'removed'> {
  const done = (op: Change['op']): string[] => results.filter(r => r.change.op === op && r.status === 'ok').map(r => r.change.name)
  return { added: done('add'), removed: done('remove').flatMap(name => before.get(name) ?? []) }
}

/**
 * What post writes: remove the entries this run added that are still ours (a later step may have put
 * its own there), then put back every entry it removed, switched off again if it was off.
 */
export function cleanupPlan(state: CleanupState, current: ReadonlyMap<string, Entry>): { changes: Change[]; mounts: Mount[] } {
  const removals: Change[] = state.added
    .filter(name => current.get(name)?.interpreter.startsWith(`${state.interpreterDir}/`))
    .map(name => ({ op: 'remove', name }))
  const restores: Change[] = state.removed.flatMap((e): Change[] => [
    { op: 'add', name: e.name, line: lineForEntry(e) },
    ...(e.enabled ? [] : [{ op: 'disable', name: e.name } as const])
  ])
  // an F entry is reopened at registration: show the helper its interpreter where the host has it
  const mounts: Mount[] = state.removed
    .filter(e => e.flags.includes('F') && fs.existsSync(e.interpreter))
    .map(e => ({ host: e.interpreter, target: e.interpreter }))
  return { changes: [...removals, ...restores], mounts }
}

export async function post(): Promise<void> {
  const state = readCleanup()
  if (!state) return
  try {
    await core.group('Cleanup', async () => {
      const { changes, mounts } = cleanupPlan(state, await readEntries())
      if (changes.length === 0) {
        core.info('nothing to clean up')
        return
      }
      const registrar = new HelperRegistrar(new Docker(state.timeout), state.helperImage, state.privilege, state.mode)
      const results = await registrar.apply(changes, state.native.map(byArch), mounts)
      for (const r of results) {
        const verb = { add: 'restore', remove: 'remove', disable: 'disable' }[r.change.op]
        const line = `${verb} ${r.change.name}: ${r.status}${r.error ? ` (${r.error})` : ''}`
        if (r.status === 'failed') core.warning(line)
        else core.info(line)
      }
    })
  } catch (err) {
    core.warning(`cleanup did not finish: ${(err as Error).message}`)
  }
}
