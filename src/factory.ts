/**
 * Which source, engine and registrar a run uses: the one place that picks them, for main and post alike.
 * A new engine is one file in src/engine/ and its line in ENGINES; a new way to register, one file in
 * src/register/ extending `Registrar`, its kind in REGISTRAR_KINDS and its line in REGISTRARS; a new
 * source, one file in src/acquire/ and its line in SOURCES (src/acquire/index.ts).
 */
import { hostPlatform } from './platform/host.js'
import { createSource } from './acquire/index.js'
import type { EmulatorSource } from './acquire/source.js'
import { BINFMT_MISC, readEntriesSync } from './binfmt/table.js'
import { Docker } from './engine/docker.js'
import type { Endpoint } from './engine/endpoint.js'
import type { Engine } from './engine/engine.js'
import type { EngineView } from './host/engine-view.js'
import type { HostState } from './host/inspect.js'
import { NotMountedError } from './host/mount.js'
import type { Inputs, Privilege } from './inputs/inputs.js'
import { isPinned } from './inputs/validate.js'
import * as log from './log.js'
import { choiceLine, choose, runnerFacts, throughEngine, type Choice } from './register/choose.js'
import { DirectRegistrar, OWN_WRITES, SudoWrites } from './register/direct.js'
import type { PrivilegeMode } from './helper/args.js'
import { HelperRegistrar } from './register/helper.js'
import { registersFromTable } from './register/plan.js'
import type { Registrar } from './register/registrar.js'
import type { CleanupState } from './state.js'

export interface EngineOptions {
  /** seconds for what reaches the network (pull) */
  timeout: number
  /** the engine to reach, when not the one the job's environment names (post: main's) */
  endpoint?: Endpoint
}

/** Every engine, by kind: a new one is its own file in src/engine/ implementing `Engine`, and its line here. */
const ENGINES = {
  docker: (o: EngineOptions): Engine => new Docker(o.timeout, 'docker', o.endpoint)
} satisfies Record<string, (o: EngineOptions) => Engine>

export type EngineKind = keyof typeof ENGINES

/** The engine a run uses: no input chooses another yet. */
export const ENGINE: EngineKind = 'docker'

export const createEngine = (kind: EngineKind, o: EngineOptions): Engine => ENGINES[kind](o)

/** The engine, with `timeout` for what reaches the network. */
export const engine = (timeout: number): Engine => createEngine(ENGINE, { timeout })

/** The engine the job's environment names, for what reaches no network: a run's leftover containers. */
export const localEngine = (): Engine => engine(0)

export interface RegistrarOptions {
  /** seconds for the helper container, and for what reaches the network */
  timeout: number
  helperImage: string
  privilege: Privilege
  /** the helper's privilege that worked in main */
  mode?: PrivilegeMode
  /** where a helper started early gets its directory */
  workDir?: string
  /** the engine the source uses too; else one at `endpoint`, or where the job's environment says */
  engine?: Engine
  endpoint?: Endpoint
  /** the runner writes through `sudo -n` */
  sudo?: boolean
}

/** Every way to register, by kind: main and post make theirs here. */
const REGISTRARS = {
  runner: o => new DirectRegistrar(BINFMT_MISC, o.sudo ? new SudoWrites() : OWN_WRITES),
  container: o =>
    new HelperRegistrar({
      engine: o.engine ?? createEngine(ENGINE, o),
      image: o.helperImage,
      privilege: o.privilege,
      limit: o.timeout,
      mode: o.mode,
      workDir: o.workDir
    })
} satisfies Record<string, (o: RegistrarOptions) => Registrar>

export type RegistrarKind = keyof typeof REGISTRARS
export const REGISTRAR_KINDS = Object.keys(REGISTRARS) as RegistrarKind[]

/** The registrar of that kind; a kind no line names (a saved state from another version) is refused. */
export function createRegistrar(kind: string, o: RegistrarOptions): Registrar {
  if (!Object.hasOwn(REGISTRARS, kind))
    throw new Error(`the saved cleanup state names a registrar this version does not have: ${kind}`)
  return REGISTRARS[kind as RegistrarKind](o)
}

/**
 * Main's registrar: chosen before the host stage, settled by it. Where `auto` chose the runner and the
 * runner turns out not to see binfmt_misc, the helper the host stage read the table through takes over.
 */
export class Registration {
  private readonly made = new Map<RegistrarKind, Registrar>()

  constructor(
    private choice: Choice,
    private readonly options: RegistrarOptions,
    /** a helper can run at all: there is a docker CLI */
    private readonly dockerCli: boolean
  ) {}

  get kind(): RegistrarKind {
    return this.choice.kind
  }

  /** The registrar of the kind chosen so far. */
  get registrar(): Registrar {
    return this.of(this.choice.kind)
  }

  private of(kind: RegistrarKind): Registrar {
    const made = this.made.get(kind) ?? createRegistrar(kind, this.options)
    this.made.set(kind, made)
    return made
  }

  /** What the host stage reads the table through where this runner cannot: a helper, where one may be used. */
  get view(): EngineView | undefined {
    if (this.choice.kind === 'container') return this.registrar.view
    return this.choice.forced || !this.dockerCli ? undefined : this.of('container').view
  }

  /** A host stage that could not mount binfmt_misc: with `runner` forced, the error says what to do. */
  notMounted(err: unknown): unknown {
    if (!(err instanceof NotMountedError) || !this.choice.forced || this.choice.kind !== 'runner') return err
    try {
      throughEngine(this.choice, `this runner does not see binfmt_misc and cannot mount it (${err.why})`)
    } catch (forced) {
      return forced
    }
    return err
  }

  /** The registrar for what the host stage found, said in the log, and told the kernel it writes to. */
  settle(host: HostState): Registrar {
    if (host.table.where === 'engine') this.choice = throughEngine(this.choice, host.table.why)
    log.info(choiceLine(this.choice))
    if (this.choice.kind === 'container' && !isPinned(this.options.helperImage)) {
      log.warning(
        `helper-image ${this.options.helperImage} is not pinned by digest, and it runs with SYS_ADMIN: pin it as name:tag@sha256:<digest>.`
      )
    }
    const registrar = this.registrar
    registrar.expectKernel(host.bootId)
    return registrar
  }
}

export async function forMain(
  inputs: Inputs,
  scratchDir: string
): Promise<{ source: EmulatorSource; registration: Registration }> {
  const docker = engine(inputs.timeout)
  const facts = await runnerFacts(inputs.registerFrom, scratchDir)
  // before anything changes: a forced `runner` that cannot work stops here
  const choice = choose(inputs.registerFrom, facts)
  const helper = choice.kind === 'container'
  const source = createSource(inputs, docker, scratchDir)
  const registration = new Registration(
    choice,
    {
      timeout: inputs.timeout,
      helperImage: inputs.helperImage,
      privilege: inputs.privileged,
      workDir: scratchDir,
      engine: docker,
      sudo: choice.sudo
    },
    facts.dockerCli
  )
  // a run that will register through a helper readies it while the host is inspected: the engine's
  // answer and the helper image; what goes wrong there is reported where the helper is needed
  if (helper && registersFromTable(inputs.platforms, readEntriesSync(), hostPlatform(), inputs.reset)) {
    void registration.registrar.prepare().catch(() => undefined)
  }
  // looked up meanwhile too: loading the tool cache's client is much of a quick run; a tag is resolved,
  // and on a hosted runner the Actions cache read when the tool cache lacks the emulators
  void source.cached().catch(() => undefined)
  return { source, registration }
}

/** Post registers the way main did: the same registrar, engine, helper image and privilege. */
export function forPost(
  state: Pick<CleanupState, 'registrar' | 'sudo' | 'timeout' | 'helperImage' | 'privilege' | 'mode' | 'endpoint'>
): Registrar {
  return createRegistrar(state.registrar, {
    timeout: state.timeout,
    helperImage: state.helperImage,
    privilege: state.privilege,
    mode: state.mode,
    sudo: state.sudo,
    endpoint: state.endpoint
  })
}
