/**
 * The post step: put the host back as it was (with `cleanup: true`), then keep what a later job needs
 * (on a hosted runner, in the Actions cache). It never fails the job: every problem is a warning.
 */
import * as core from '@actions/core'
import { readSaveState } from '../acquire/actions-cache/keys.js'
import { saveEntry } from '../acquire/actions-cache/save.js'
import { State } from '../constants.js'
import type { Engine } from '../engine/engine.js'
import { ENGINE, createEngine, localEngine } from '../factory.js'
import * as log from '../log.js'
import { leftRun, readCleanup } from '../state.js'
import { cleanup } from './cleanup.js'

export async function post(): Promise<void> {
  sweepLeftovers(mainsEngine())
  await cleanup()
  await saveForLater()
}

/** The containers a main step that failed or was stopped could not remove, found by its run's label. */
export function sweepLeftovers(engine: Pick<Engine, 'removeOwnContainers'> = localEngine()): void {
  const run = leftRun()
  if (!run) return
  const removed = engine.removeOwnContainers(run)
  if (removed > 0) log.info(`removed ${removed} container(s) the main step left behind`)
}

/**
 * The engine main used: the one its saved state names (the job may point elsewhere by now, or at
 * nothing), else the one the job's environment names.
 */
export function mainsEngine(): Engine {
  let endpoint
  try {
    endpoint = readCleanup()?.endpoint
  } catch {
    // cleanup says what is wrong with the state; the sweep goes to the job's engine
  }
  return endpoint ? createEngine(ENGINE, { timeout: 0, endpoint }) : localEngine()
}

async function saveForLater(): Promise<void> {
  try {
    const state = readSaveState(core.getState(State.ActionsCache))
    if (!state) return
    await core.group('Actions cache', async () => saveEntry(state))
  } catch (err) {
    log.warning(`the Actions cache was not saved (${(err as Error).message}): the next job fetches the emulators again`)
  }
}
