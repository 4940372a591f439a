/**
 * A change to the binfmt_misc table and what came of it: the words the planner, every registrar, the
 * helper container and post's state share, below all of them.
 */

export type Change =
  /** remove an entry; with `onlyIfIn`, only while its interpreter is still in that directory */
  | { op: 'remove'; name: string; onlyIfIn?: string }
  /** register a line; `disabled` switches the new entry off, as one that is put back was */
  | { op: 'add'; name: string; line: string; disabled?: boolean }

export interface ChangeResult {
  change: Change
  /**
   * done; (add) an entry of that name was already there; (remove) there was none, or it no longer
   * points where `onlyIfIn` says (someone else's now)
   */
  status: 'ok' | 'exists' | 'gone' | 'changed' | 'failed'
  error?: string
}

/** A host file or directory the registrar must show at another path (where the kernel opens emulators). */
export interface Mount {
  host: string
  target: string
  /**
   * the engine may not see this runner path (a container job, an engine over TCP): send the directory's
   * files instead of binding it; without it, the path is bound as the engine's host has it
   */
  send?: boolean
  /** for a directory: the only files in it the helper is shown (the emulators acquire checked) */
  files?: readonly string[]
}

/** A write refused because the table is another kernel's than the one this run read (or main changed). */
export const otherKernel = (found: string, expected: string): Error =>
  new Error(
    `binfmt_misc was not changed: it belongs to another kernel (boot id ${found}) than the one this run read and ` +
      `changed (boot id ${expected}). The machine has restarted since, or the engine is reached on another machine ` +
      '(a DOCKER_HOST that leads to more than one, or one changed during the job); what was changed there is not here to change.'
  )
