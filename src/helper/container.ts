/**
 * A helper container: the only way to write binfmt_misc that works without root on the host and that
 * rootful engines everywhere allow. It mounts binfmt_misc inside the container and writes each change;
 * with `F` the kernel opens the emulator during the write, so entries keep working after it exits.
 */
import { hostPlatform } from '../platform/host.js'
import { otherKernel, type Mount } from '../binfmt/change.js'
import { INTERPRETER_DIR, RUN_ID } from '../constants.js'
import { oneLine } from '../engine/docker.js'
import type { Engine, EngineInfo } from '../engine/engine.js'
import { TimeoutError } from '../exec/timeout.js'
import type { Privilege } from '../inputs/inputs.js'
import * as log from '../log.js'
import { asFlag, helperArgs, type PrivilegeMode } from './args.js'
import { EarlyHelper, type Outcome } from './early.js'
import { REFUSAL, ROOTLESS, notAnswered, refusedEverything, stoppedBeforeWork } from './failures.js'
import { DONE, parseOutput, verbArgs, type HelperOutput, type Stdin } from './protocol.js'

export interface HelperOptions {
  engine: Engine
  image: string
  privilege: Privilege
  /** seconds the helper container may take before it is stopped and removed */
  limit: number
  /** the privilege that worked in main */
  mode?: PrivilegeMode
  /** where a helper started early gets its directory; without it, none is started early */
  workDir?: string
}

/** A helper's run that answered: what it printed, parsed, and the privilege it had. */
export type Ran = Extract<Outcome, { refused?: undefined }> & { mode: PrivilegeMode }

export class HelperContainer {
  /** the privilege that worked, remembered for the next helper */
  private worked?: PrivilegeMode
  /** the boot id of the kernel every helper must find: told, or the first one a helper saw */
  private kernel?: string
  private ready?: Promise<EngineInfo>
  /** the helper image's local id: it is run by id, as a copy loaded from a cache has no other name */
  private localImage?: string
  private containers = 0
  private early?: EarlyHelper

  constructor(private readonly o: HelperOptions) {
    this.worked = o.mode
  }

  /** The privilege that worked (or was given), for post to use the same. */
  get mode(): PrivilegeMode | undefined {
    return this.worked
  }

  /**
   * The engine's answer and the helper image, once, however often it is asked. Both are asked at once;
   * when the engine itself is the trouble, its own message is the one reported, not the pull's. With
   * the emulators' key, a helper starts as soon as its image is there, so that starting it (most of its
   * time) overlaps fetching them; the emulators are linked into its directory when they arrive.
   */
  prepare(key?: string): Promise<EngineInfo> {
    this.ready ??= (async () => {
      const info = this.o.engine.info()
      const image = this.o.engine.ensureImage(this.o.image, false, hostPlatform().platforms[0])
      image.catch(() => undefined) // reported below, once the engine has answered
      const answer = await info
      this.localImage = await image
      return answer
    })()
    if (key && this.o.workDir && !this.early) {
      const mode = this.modes()[0]
      this.early = new EarlyHelper(mode, this.interpreterDir(key), this.o.workDir, async (inbox, target, work) => {
        const info = await (this.ready as Promise<EngineInfo>)
        if (info.rootless) return undefined
        return await this.runOnce(mode, info, [], [{ host: await inbox, target }], work, 'work')
      })
    }
    return this.ready
  }

  /** A helper started early is told there is no work, and is gone when this settles. */
  async release(): Promise<void> {
    const early = this.early
    this.early = undefined
    await early?.release()
  }

  /** The privileges to try, in order. */
  private modes(): PrivilegeMode[] {
    if (this.worked) return [this.worked]
    if (this.o.privilege === 'auto') return ['least', 'privileged']
    return [this.o.privilege === 'true' ? 'privileged' : 'least']
  }

  expectKernel(id: string): void {
    if (id) this.kernel = id
  }

  interpreterDir(key: string): string {
    return `${INTERPRETER_DIR}/${key.slice(0, 12)}`
  }

  /** A helper container with the privilege that works (remembered for the next one), or an error that says why not. */
  async run(verb: 'look' | 'write', rest: readonly string[], mounts: readonly Mount[], input?: Buffer): Promise<Ran> {
    const args = verbArgs(verb, this.kernel, rest)
    const info = await this.prepare()
    if (info.rootless) throw new Error(ROOTLESS)
    const modes = this.modes()
    const refusals: string[] = []
    for (const mode of modes) {
      const early = this.early
      this.early = undefined
      const outcome =
        (await early?.take(mode, args, mounts, input)) ??
        (await this.runOnce(mode, info, args, mounts, input, input ? 'files' : 'none'))
      if (outcome.refused === undefined) {
        this.worked = mode
        this.sameKernel(outcome.output)
        return { ...outcome, mode }
      }
      refusals.push(`${asFlag(mode)}: ${outcome.refused}`)
      if (modes.length > 1 && mode === 'least') log.info(`least privilege was refused (${outcome.refused}); trying --privileged`)
    }
    throw refusedEverything(refusals, this.o.privilege, info)
  }

  /** One kernel for every helper: the first to answer names it where none was told, and the script refuses any other. */
  private sameKernel(output: HelperOutput): void {
    const seen = output.kernel
    if (output.otherKernel || (this.kernel && seen && seen !== this.kernel)) {
      throw otherKernel(seen || 'unknown', this.kernel ?? 'unknown')
    }
    this.kernel ??= seen || undefined
  }

  /** A helper that did not get far enough to answer: say why, naming the image where it is at fault. */
  failed(r: { exitCode: number; stdout: string; stderr: string }): never {
    throw notAnswered(this.o.image, r)
  }

  /**
   * One helper container. Its answers are read whatever its exit code, and any answer proves the script
   * ran: only a container that never got that far can have been refused privilege.
   */
  private async runOnce(
    mode: PrivilegeMode,
    info: EngineInfo,
    verb: readonly string[],
    mounts: readonly Mount[],
    input: Buffer | Promise<Buffer> | undefined,
    stdin: Stdin
  ): Promise<Outcome> {
    const name = `setup-qemu-${RUN_ID}-${++this.containers}`
    const args = [...helperArgs(this.localImage ?? this.o.image, name, mode, info, mounts, stdin), ...verb]
    let r
    try {
      r = await this.o.engine.call(args, this.o.limit, input, DONE)
    } catch (err) {
      if (!(err instanceof TimeoutError)) throw err
      // the CLI was killed; the container may still be running and writing
      await this.o.engine.call(['rm', '--force', '--volumes', name], 60).catch(() => undefined)
      throw new Error(`${(err as Error).message} The helper container ${name} was stopped and removed.`)
    }
    const output = parseOutput(r.stdout)
    const stopped = stoppedBeforeWork(this.o.image, output)
    if (stopped instanceof Error) throw stopped
    if (stopped) return stopped
    if (!output.answered && (r.exitCode === 125 || r.exitCode === 126) && REFUSAL.test(r.stderr))
      return { refused: oneLine(r.stderr) }
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, output }
  }
}
