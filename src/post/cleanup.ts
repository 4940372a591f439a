/**
 * The post step: with `cleanup: true`, remove what main added and put back what it removed.
 * It never fails the job: every problem is a warning.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import { lineForEntry } from '../binfmt/entry.js'
import { readEntries } from '../binfmt/host.js'
import { Docker } from '../engine/docker.js'
import { HelperRegistrar } from '../register/helper.js'
import type { Change, Mount } from '../register/registrar.js'
import { byArch } from '../platforms.js'
import { readCleanup } from '../state.js'

export async function post(): Promise<void> {
  const state = readCleanup()
  if (!state) return
  try {
    await core.group('Cleanup', async () => {
      const current = await readEntries()
      // remove only entries that are still ours: a later step may have put its own there
      const removals: Change[] = state.added
        .filter(name => current.get(name)?.interpreter.startsWith(`${state.interpreterDir}/`))
        .map(name => ({ op: 'remove', name }))
      const restores: Change[] = state.removed.map(e => ({ op: 'add', name: e.name, line: lineForEntry(e) }))
      // an F entry is reopened at registration: show the helper its interpreter where the host has it
      const mounts: Mount[] = state.removed
        .filter(e => e.flags.includes('F') && fs.existsSync(e.interpreter))
        .map(e => ({ host: e.interpreter, target: e.interpreter }))
      if (removals.length + restores.length === 0) {
        core.info('nothing to clean up')
        return
      }
      const registrar = new HelperRegistrar(new Docker(state.timeout), state.helperImage, state.privilege, state.mode)
      const results = await registrar.apply([...removals, ...restores], state.native.map(byArch), mounts)
      for (const r of results) {
        const line = `${r.change.op === 'add' ? 'restore' : 'remove'} ${r.change.name}: ${r.status}${r.error ? ` (${r.error})` : ''}`
        if (r.status === 'failed') core.warning(line)
        else core.info(line)
      }
    })
  } catch (err) {
    core.warning(`cleanup did not finish: ${(err as Error).message}`)
  }
}
