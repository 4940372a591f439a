/**
 * The engine's own view of the kernel, for a runner that cannot read binfmt_misc itself (a container
 * job, an ARC runner pod) or whose engine is elsewhere: a helper container reads the table and runs
 * the probes there, as containers and BuildKit will run them.
 */
import type { Entry } from '../binfmt/entry.js'
import type { ProbeResult } from '../probe/run.js'

export interface Look {
  entries: Map<string, Entry>
  /** the table was not the same after the probes as before them (another job writing) */
  changed: boolean
  /** the kernel-wide status switch */
  enabled: boolean
  /** /proc/sys/kernel/random/boot_id: the same on two sides means the same kernel */
  bootId: string
  /** uname -m of the engine's kernel */
  machine: string
  /** the probes' results there, by arch */
  results: Map<string, ProbeResult>
}

export interface EngineView {
  /** The table as the engine's containers see it, with the given probes (paths by arch) run there. */
  look(probes: ReadonlyMap<string, string>): Promise<Look>
}
