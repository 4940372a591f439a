/**
 * Which source, engine and registrar a run uses: the one place that picks them, for main and post alike.
 * A new source, engine or way to register is one new file behind its interface, chosen here.
 */
import { createSource } from './acquire/index.js'
import type { EmulatorSource } from './acquire/source.js'
import { Docker } from './engine/docker.js'
import type { Inputs } from './inputs/inputs.js'
import { HelperRegistrar, type PrivilegeMode } from './register/helper.js'
import type { CleanupState } from './state.js'

export interface Components {
  source: EmulatorSource
  registrar: HelperRegistrar
}

export function forMain(inputs: Inputs, scratchDir: string): Components {
  const docker = new Docker(inputs.timeout)
  return {
    source: createSource(inputs, docker, scratchDir),
    registrar: new HelperRegistrar(docker, inputs.helperImage, inputs.privileged, inputs.timeout)
  }
}

/** Post registers the way main did: same engine, helper image and privilege. */
export function forPost(
  state: Pick<CleanupState, 'timeout' | 'helperImage' | 'privilege'> & { mode?: PrivilegeMode }
): HelperRegistrar {
  return new HelperRegistrar(new Docker(state.timeout), state.helperImage, state.privilege, state.timeout, state.mode)
}
