/**
 * The engine's view of the kernel through a helper container: for a runner that cannot read binfmt_misc
 * itself, or whose engine is elsewhere. The probes are sent in and run there, as containers run them.
 */
import * as fs from 'node:fs/promises'
import { tarOf, type TarFile } from '../exec/tar.js'
import type { EngineView, Look } from '../host/engine-view.js'
import type { HelperContainer } from './container.js'
import { PROBE_DIR } from './protocol.js'

export class HelperView implements EngineView {
  constructor(private readonly helper: HelperContainer) {}

  /** The table as the engine's containers see it, with the probes (paths by arch) run there. */
  async look(probes: ReadonlyMap<string, string>): Promise<Look> {
    const files: TarFile[] = []
    for (const [arch, file] of probes) {
      const st = await fs.stat(file)
      files.push({ name: `${PROBE_DIR.slice(1)}/probe-${arch}`, data: await fs.readFile(file), mode: st.mode })
    }
    const paths = [...probes.keys()].map(arch => `${PROBE_DIR}/probe-${arch}`)
    const r = await this.helper.run('look', paths, [], files.length ? tarOf(files) : undefined)
    if (!r.output.booted) this.helper.failed(r)
    return r.output.look
  }
}
