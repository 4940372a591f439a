/**
 * A helper started before its work is known, so that starting it (most of its time) overlaps fetching
 * the emulators. It shows a directory of its own where entries will point; the emulators are linked
 * into it when they arrive, and its work reaches it on stdin.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { linkOrCopy } from '../fs.js'
import type { Mount } from '../binfmt/change.js'
import * as log from '../log.js'
import { EMULATOR_NAMES } from '../platform/platforms.js'
import type { PrivilegeMode } from './args.js'
import { workLines, type HelperOutput } from './protocol.js'

/** What a helper's run came to: its output, or why the engine would not give it the privilege. */
export type Outcome =
  { refused: string } | { refused?: undefined; stdout: string; exitCode: number; stderr: string; output: HelperOutput }

/** Starts a helper showing `inbox` at `target`, reading its work from `work` once given; undefined when it cannot run. */
export type StartEarly = (inbox: Promise<string>, target: string, work: Promise<Buffer>) => Promise<Outcome | undefined>

export class EarlyHelper {
  private give: (work: Buffer) => void = () => undefined
  private readonly inbox: Promise<string>
  /** undefined when it cannot be used; the regular way then says why */
  private readonly outcome: Promise<Outcome | undefined>

  constructor(
    readonly mode: PrivilegeMode,
    /** the directory it shows, where entries will point */
    readonly target: string,
    workDir: string,
    start: StartEarly
  ) {
    const work = new Promise<Buffer>(resolve => (this.give = resolve))
    this.inbox = fs.mkdtemp(path.join(workDir, 'helper-'))
    this.outcome = start(this.inbox, target, work).catch((err: Error) => {
      log.debug(`the helper started early is not used: ${err.message}`)
      return undefined
    })
  }

  /**
   * Its outcome, given this work when it fits (same privilege, same directory, nothing sent on stdin);
   * otherwise it is told there is none. Undefined when it cannot be used, or never ran the script.
   */
  async take(
    mode: PrivilegeMode,
    verb: readonly string[],
    mounts: readonly Mount[],
    input?: Buffer
  ): Promise<Outcome | undefined> {
    const fits = mode === this.mode && verb[0] === 'write' && !input && mounts.every(m => !m.send && m.target === this.target)
    const inbox = fits ? await this.inbox.catch(() => undefined) : undefined
    if (!inbox) {
      await this.release()
      return undefined
    }
    try {
      // the emulators acquire handed over, into the directory the helper shows where entries point
      for (const m of mounts) {
        for (const name of (await fs.readdir(m.host)).filter(n => EMULATOR_NAMES.includes(n))) {
          await linkOrCopy(path.join(m.host, name), path.join(inbox, name))
        }
      }
      this.give(workLines(verb))
    } catch (err) {
      log.debug(`the helper started early is not used: ${(err as Error).message}`)
      this.give(Buffer.alloc(0))
      return undefined
    }
    const outcome = await this.outcome
    // one that never ran the script changed nothing: the regular way runs it again and says why
    if (!outcome || (outcome.refused === undefined && !outcome.output.answered)) return undefined
    return outcome
  }

  /** Told there is no work; gone when this settles. */
  async release(): Promise<void> {
    this.give(Buffer.alloc(0))
    await this.outcome
  }
}
