/**
 * Registering through a helper container (src/helper/): the changes go to it as arguments, the files
 * it needs are bound or sent, and each change comes back answered.
 */
import { oneLine } from '../engine/docker.js'
import { asFlag, type PrivilegeMode } from '../helper/args.js'
import { HelperContainer, type HelperOptions } from '../helper/container.js'
import { shownToHelper, streamOf } from '../helper/handover.js'
import { HelperView } from '../helper/view.js'
import type { EngineView } from '../host/engine-view.js'
import * as log from '../log.js'
import { runnerTemp } from '../scratch.js'
import { Registrar, type Change, type ChangeResult, type Mount } from './registrar.js'

const changeArgs = (c: Change): string[] =>
  c.op === 'remove' ? ['remove', c.name, c.onlyIfIn ?? ''] : [c.disabled ? 'add-disabled' : 'add', c.name, c.line]

export class HelperRegistrar extends Registrar {
  readonly kind = 'container'
  private readonly helper: HelperContainer
  private readonly engineView: HelperView

  constructor(private readonly o: HelperOptions) {
    super()
    this.helper = new HelperContainer(o)
    this.engineView = new HelperView(this.helper)
  }

  /** The privilege that worked (or was given): post uses the same. */
  get mode(): PrivilegeMode | undefined {
    return this.helper.mode
  }

  get method(): string {
    return `helper container (${asFlag(this.mode)})`
  }

  get view(): EngineView {
    return this.engineView
  }

  prepare(key?: string): Promise<unknown> {
    return this.helper.prepare(key)
  }

  release(): Promise<void> {
    return this.helper.release()
  }

  expectKernel(id: string): void {
    this.helper.expectKernel(id)
  }

  interpreterDir(key: string, _hostDir?: string): string {
    return this.helper.interpreterDir(key)
  }

  protected async write(changes: readonly Change[], given: readonly Mount[]): Promise<ChangeResult[]> {
    // a directory goes in as one of its own holding only the files named: the checked emulators
    const mounts = await shownToHelper(given, this.o.workDir ?? runnerTemp())
    try {
      return await this.writeWith(changes, mounts)
    } catch (err) {
      // an engine that does not see this runner's paths (another mount namespace, a sidecar): send them
      const missing = /bind source path does not exist/i.exec((err as Error).message)
      if (!missing || !mounts.some(m => !m.send)) throw err
      log.info(`the engine cannot see this runner's files (${(err as Error).message}): sending them to the helper on its stdin`)
      return this.writeWith(
        changes,
        mounts.map(m => ({ ...m, send: true }))
      )
    }
  }

  private async writeWith(changes: readonly Change[], mounts: readonly Mount[]): Promise<ChangeResult[]> {
    const r = await this.helper.run('write', changes.flatMap(changeArgs), mounts, await streamOf(mounts))
    if (r.output.answers.size === 0 && !r.output.ready) this.helper.failed(r)
    log.info(`registered through a helper container with ${asFlag(r.mode)}`)
    const stopped = `the helper stopped before this change (exit code ${r.exitCode}${r.stderr.trim() ? `: ${oneLine(r.stderr)}` : ''})`
    return changes.map((change, i): ChangeResult => ({
      change,
      ...(r.output.answers.get(i) ?? { status: 'failed', error: stopped })
    }))
  }
}
