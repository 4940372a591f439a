/**
 * The binfmt_misc table this step reads, probes and writes: the runner's own, or the engine's through a
 * helper container (for a runner that cannot read it, or whose engine is elsewhere). The host stage
 * chooses it once; the later stages ask it, not which one it is.
 */
import { existsSync } from 'node:fs'
import type { Mount } from '../binfmt/change.js'
import type { Entry } from '../binfmt/entry.js'
import { readEntries } from '../binfmt/table.js'
import { chrootedProbes } from '../probe/chroot.js'
import { runProbe, runProbes, type ProbeResult } from '../probe/run.js'
import type { EngineView } from './engine-view.js'

/** The table, and the probes' results (by arch) where it is, seen together. */
export interface Probed {
  entries: Map<string, Entry>
  results: Map<string, ProbeResult>
}

export interface KernelTable {
  /** whose table it is, for the log, the summary and the post state */
  readonly where: 'runner' | 'engine'
  /** why the table is the engine's ('' for the runner's) */
  readonly why: string
  /** the table is the runner's kernel's: the runner's own probes and CPU flags count */
  readonly sameKernel: boolean
  read(): Promise<Map<string, Entry>>
  /** The table, with the probes (paths by arch) run where its programs run. */
  probe(paths: ReadonlyMap<string, string>): Promise<Probed>
  /** The runner's own probes, where they add to probe(): the engine's table on the runner's kernel. */
  onRunner(paths: ReadonlyMap<string, string>): Promise<Map<string, ProbeResult> | undefined>
  /** One probe asked again by itself, where a batch's answer may be ambiguous. */
  again(file: string, batch: ProbeResult): Promise<ProbeResult>
  /**
   * Probes (paths by arch) chrooted into a directory that holds nothing else; undefined when that cannot
   * be done (or need not be), and no result for a probe whose chroot could not be made.
   */
  chrooted(paths: ReadonlyMap<string, string>, scratchDir: string): Promise<Map<string, ProbeResult> | undefined>
  /** Whether a path exists where the table's programs run (undefined: it may; the engine will say). */
  exists(file: string): boolean | undefined
  /** The emulators' directory as the registrar must show it: bound, or sent where the engine cannot see it. */
  mountsFor(host: string, target: string, files: readonly string[]): Mount[]
}

export class RunnerTable implements KernelTable {
  readonly where = 'runner'
  readonly why = ''
  readonly sameKernel = true

  read(): Promise<Map<string, Entry>> {
    return readEntries()
  }

  async probe(paths: ReadonlyMap<string, string>): Promise<Probed> {
    const [entries, results] = await Promise.all([readEntries(), paths.size > 0 ? runProbes(paths) : new Map()])
    return { entries, results }
  }

  async onRunner(): Promise<undefined> {
    return undefined
  }

  // the shell's status cannot tell a missing interpreter from an emulator that exits 127: ask again
  again(file: string, batch: ProbeResult): Promise<ProbeResult> {
    return batch.error === 'interpreter missing' ? runProbe(file) : Promise.resolve(batch)
  }

  chrooted(paths: ReadonlyMap<string, string>, scratchDir: string): Promise<Map<string, ProbeResult> | undefined> {
    return chrootedProbes(paths, scratchDir)
  }

  exists(file: string): boolean {
    return existsSync(file)
  }

  mountsFor(host: string, target: string, files: readonly string[]): Mount[] {
    return [{ host, target, send: false, files }]
  }
}

export class EngineTable implements KernelTable {
  readonly where = 'engine'

  constructor(
    readonly view: EngineView,
    /** why this process did not read the table itself */
    readonly why = '',
    /** the engine runs on this runner's kernel (same boot id) */
    readonly sameKernel = false
  ) {}

  async read(): Promise<Map<string, Entry>> {
    return (await this.view.look(new Map())).entries
  }

  async probe(paths: ReadonlyMap<string, string>): Promise<Probed> {
    const { entries, results } = await this.view.look(paths)
    return { entries, results }
  }

  // the runner's probes prove something only on its own kernel
  async onRunner(paths: ReadonlyMap<string, string>): Promise<Map<string, ProbeResult> | undefined> {
    return this.sameKernel ? runProbes(paths) : undefined
  }

  async again(_file: string, batch: ProbeResult): Promise<ProbeResult> {
    return batch
  }

  // a fresh container holds no emulator file: its probe already proved what a chroot would
  async chrooted(): Promise<undefined> {
    return undefined
  }

  // interpreters are bound from the engine's host, which this process may not see
  exists(): undefined {
    return undefined
  }

  mountsFor(host: string, target: string, files: readonly string[]): Mount[] {
    return [{ host, target, send: true, files }]
  }
}
