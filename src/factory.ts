/**
 * Which source, engine and registrar a run uses: the one place that picks them, for main and post alike.
 * A new source, engine or way to register is one new file behind its interface, chosen here.
 */
import { hostPlatform } from './acquire/elf.js'
import { createSource } from './acquire/index.js'
import type { EmulatorSource } from './acquire/source.js'
import { Docker } from './engine/docker.js'
import type { Inputs } from './inputs/inputs.js'
import { readEntriesSync } from './binfmt/table.js'
import { HelperRegistrar, type PrivilegeMode } from './register/helper.js'
import { registersFromTable } from './register/plan.js'
import type { CleanupState } from './state.js'

export interface Components {
  source: EmulatorSource
  registrar: HelperRegistrar
}

/** The engine, with `timeout` for what reaches the network. */
export const engine = (timeout: number): Docker => new Docker(timeout)

export function forMain(inputs: Inputs, scratchDir: string): Components {
  const docker = engine(inputs.timeout)
  const source = createSource(inputs, docker, scratchDir)
  const registrar = new HelperRegistrar(docker, inputs.helperImage, inputs.privileged, inputs.timeout, undefined, scratchDir)
  // a run that will register readies the helper while the host is inspected: the engine's answer and
  // the helper image; what goes wrong there is reported where the helper is needed
  if (registersFromTable(inputs.platforms, readEntriesSync(), hostPlatform(), inputs.reset)) {
    void registrar.prepare().catch(() => undefined)
  }
  // looked up meanwhile too: loading the tool cache's client is much of a quick run; a tag is resolved,
  // and on a hosted runner the Actions cache read when the tool cache lacks the emulators
  void source.cached().catch(() => undefined)
  return { source, registrar }
}

/** Post registers the way main did: same engine, helper image and privilege. */
export function forPost(
  state: Pick<CleanupState, 'timeout' | 'helperImage' | 'privilege'> & { mode?: PrivilegeMode }
): HelperRegistrar {
  return new HelperRegistrar(engine(state.timeout), state.helperImage, state.privilege, state.timeout, state.mode)
}
