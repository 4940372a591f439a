/** What main hands to post, through the action's state (GITHUB_STATE / STATE_*). */
import * as core from '@actions/core'
import { State } from './constants.js'
import type { Entry } from './binfmt/entry.js'
import type { Privilege } from './inputs/inputs.js'
import type { PrivilegeMode } from './register/helper.js'

export interface CleanupState {
  /** entry names this run added */
  added: string[]
  /** entries this run removed or replaced, as the kernel showed them, to put back */
  removed: Entry[]
  /** entries we add point here; post removes only entries that still do */
  interpreterDir: string
  /** arch ids the host ran natively: restoring must not claim them either */
  native: string[]
  helperImage: string
  privilege: Privilege
  mode?: PrivilegeMode
  timeout: number
}

export const markMainRan = (): void => core.saveState(State.IsPost, 'true')

export function saveCleanup(s: CleanupState): void {
  core.saveState(State.Cleanup, JSON.stringify(s))
}

export function readCleanup(): CleanupState | undefined {
  const raw = core.getState(State.Cleanup)
  return raw ? (JSON.parse(raw) as CleanupState) : undefined
}
