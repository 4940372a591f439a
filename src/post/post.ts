/**
 * The post step: put the host back as it was (with `cleanup: true`), then keep what a later job needs
 * (on a hosted runner, in the Actions cache). It never fails the job: every problem is a warning.
 */
import * as core from '@actions/core'
import { readSaveState, saveEntry } from '../acquire/actions-cache.js'
import { State } from '../constants.js'
import { engine } from '../factory.js'
import * as log from '../log.js'
import { cleanup } from './cleanup.js'

export async function post(): Promise<void> {
  await cleanup()
  await saveForLater()
}

async function saveForLater(): Promise<void> {
  try {
    const state = readSaveState(core.getState(State.ActionsCache))
    if (!state) return
    await core.group('Actions cache', async () => saveEntry(state, engine(state.timeout)))
  } catch (err) {
    log.warning(`the Actions cache was not saved (${(err as Error).message}): the next job fetches the emulators again`)
  }
}
