/**
 * What the action asks of a container engine, through a docker-compatible CLI. `Docker` (docker.ts) is
 * the one implementation; another engine is one file implementing this, and its line in ENGINES
 * (src/factory.ts).
 */
import type { RunResult } from '../exec/command.js'

/** What the daemon says of itself that the helper needs: how it confines containers. */
export interface EngineInfo {
  /**
   * the confinements the engine applies, one `name=<what>` word each (`name=apparmor`, `name=selinux`,
   * `name=userns`, `name=seccomp,profile=…`), as Docker lists them: an engine that says it otherwise
   * gives its own in these words
   */
  securityOptions: string[]
  /** the daemon runs without root: its containers cannot write the kernel-wide binfmt_misc table */
  rootless: boolean
}

export interface Engine {
  /** that a client and a daemon are there, and how the daemon confines containers; memoised */
  info(): Promise<EngineInfo>
  /**
   * one CLI call, with a time limit and optional stdin (written when it is there, then closed); with
   * doneWhen, its result as soon as stdout shows it, while the call goes on to its end
   */
  call(args: readonly string[], timeout?: number, input?: Buffer | Promise<Buffer>, doneWhen?: RegExp): Promise<RunResult>
  /** the image (for platform), pulled only when the engine does not have it; its id */
  ensureImage(ref: string, alwaysPull: boolean, platform?: string): Promise<string>
  /** a directory copied out of an image without running it */
  copyOut(ref: string, from: string, to: string, platform?: string): Promise<void>
  /**
   * Removes the containers a run (this one's unless told) created, with their anonymous volumes; how
   * many there were. Synchronous, so that it can run as the process is ended.
   */
  removeOwnContainers(run?: string): number
}
