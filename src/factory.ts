/**
 * Which source, engine and registrar a run uses: the one place that picks them, for main and post alike.
 * A new source, engine or way to register is one new file behind its interface, chosen here.
 */
import { ActionsCache, ActionsCachedSource, actionsCacheWanted, cacheKeys, emulatorSet } from './acquire/actions-cache.js'
import { createSource } from './acquire/index.js'
import type { EmulatorSource } from './acquire/source.js'
import { Docker } from './engine/docker.js'
import type { Inputs } from './inputs/inputs.js'
import * as log from './log.js'
import { HelperRegistrar, type PrivilegeMode } from './register/helper.js'
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
  if (!actionsCacheWanted(inputs.cacheImage)) return { source, registrar }
  // a hosted runner: what a later job needs goes in the Actions cache, keyed by what it is
  if (!source.contentKey) {
    log.info(`the Actions cache is not used: ${source.from} is not pinned, so what it holds has no fixed name`)
    return { source, registrar }
  }
  const set = emulatorSet(inputs.platforms)
  const keys = cacheKeys(source.contentKey, inputs.helperImage, set)
  const cache = new ActionsCache(keys, source.contentKey, set, inputs.helperImage, docker, inputs.timeout, scratchDir)
  docker.localCopy = async ref => cache.localCopy(ref)
  // a hosted job has nothing registered yet: restoring while the host is inspected saves that time
  cache.restore()
  return { source: new ActionsCachedSource(source, cache), registrar }
}

/** Post registers the way main did: same engine, helper image and privilege. */
export function forPost(
  state: Pick<CleanupState, 'timeout' | 'helperImage' | 'privilege'> & { mode?: PrivilegeMode }
): HelperRegistrar {
  return new HelperRegistrar(engine(state.timeout), state.helperImage, state.privilege, state.timeout, state.mode)
}
