/**
 * Which source, engine and registrar a run uses: the one place that picks them, for main and post alike.
 * A new source, engine or way to register is one new file behind its interface, chosen here.
 */
import { ActionsCache, ActionsCachedSource, actionsCacheWanted, cacheKeys, emulatorSet } from './acquire/actions-cache.js'
import { hostPlatform } from './acquire/elf.js'
import { createSource } from './acquire/index.js'
import type { EmulatorSource } from './acquire/source.js'
import { Docker } from './engine/docker.js'
import type { Inputs } from './inputs/inputs.js'
import * as log from './log.js'
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
  // first: on a hosted runner the helper image may come from the Actions cache, not a registry
  const source = behindActionsCache(createSource(inputs, docker, scratchDir), inputs, docker, scratchDir)
  const registrar = new HelperRegistrar(docker, inputs.helperImage, inputs.privileged, inputs.timeout, undefined, scratchDir)
  // a run that will register readies the helper while the host is inspected: the engine's answer and
  // the helper image; what goes wrong there is reported where the helper is needed
  if (registersFromTable(inputs.platforms, readEntriesSync(), hostPlatform(), inputs.reset)) {
    void registrar.prepare().catch(() => undefined)
  }
  // looked up meanwhile too: loading the tool cache's client is much of a quick run
  void source.cached().catch(() => undefined)
  return { source, registrar }
}

/** On a hosted runner, the source behind the Actions cache, which starts restoring now; else the source. */
function behindActionsCache(source: EmulatorSource, inputs: Inputs, docker: Docker, scratchDir: string): EmulatorSource {
  if (!actionsCacheWanted(inputs.cacheImage)) return source
  // a hosted runner: what a later job needs goes in the Actions cache, keyed by what it is
  if (!source.contentKey) {
    log.info(`the Actions cache is not used: ${source.from} is not pinned, so what it holds has no fixed name`)
    return source
  }
  const set = emulatorSet(inputs.platforms)
  const keys = cacheKeys(source.contentKey, inputs.helperImage, set)
  const cache = new ActionsCache(keys, source.contentKey, set, inputs.helperImage, docker, inputs.timeout, scratchDir)
  docker.localCopy = async ref => cache.localCopy(ref)
  // a hosted job has nothing registered yet: restoring while the host is inspected saves that time
  cache.restore()
  return new ActionsCachedSource(source, cache)
}

/** Post registers the way main did: same engine, helper image and privilege. */
export function forPost(
  state: Pick<CleanupState, 'timeout' | 'helperImage' | 'privilege'> & { mode?: PrivilegeMode }
): HelperRegistrar {
  return new HelperRegistrar(engine(state.timeout), state.helperImage, state.privilege, state.timeout, state.mode)
}
