/**
 * How a helper container is run: its `docker run` flags, from the privilege it is given and how the
 * engine confines containers.
 */
import type { Mount } from '../binfmt/change.js'
import { CONTAINER_LABEL, RUN_ID } from '../constants.js'
import type { EngineInfo } from '../engine/engine.js'
import { scriptArgs, type Stdin } from './protocol.js'

export type PrivilegeMode = 'least' | 'privileged'
export const PRIVILEGE_MODES: readonly PrivilegeMode[] = ['least', 'privileged']

/** How a mode reads in logs and messages. */
export const asFlag = (mode: PrivilegeMode | undefined): string =>
  mode === 'privileged' ? '--privileged' : '--cap-add SYS_ADMIN'

/** `--mount` splits its value on commas and reads quotes: a path with either cannot be given there. */
export function bindMount(m: Mount): string[] {
  for (const p of [m.host, m.target]) {
    if (/[,"]/.test(p)) {
      throw new Error(
        `cannot show ${p} to the helper container: the path has a comma or a quote, which a bind mount cannot take. ` +
          'Use a RUNNER_TEMP (or tool cache) whose path has neither.'
      )
    }
  }
  return ['--mount', `type=bind,source=${m.host},target=${m.target},readonly`]
}

/** The `docker run` arguments for one helper container (the changes follow them). */
export function helperArgs(
  image: string,
  name: string,
  mode: PrivilegeMode,
  info: EngineInfo,
  mounts: readonly Mount[],
  stdin: Stdin = 'none'
): string[] {
  const args = [
    'run',
    '--rm',
    ...(stdin === 'none' ? [] : ['--interactive']),
    '--name',
    name,
    '--label',
    `${CONTAINER_LABEL}=${RUN_ID}`,
    '--network',
    'none',
    '--user',
    '0:0'
  ]
  // a user-namespaced engine would give the helper a private binfmt_misc that vanishes with it
  if (info.securityOptions.some(o => o.includes('name=userns'))) args.push('--userns', 'host')
  if (mode === 'privileged') args.push('--privileged')
  else {
    args.push('--cap-add', 'SYS_ADMIN')
    // confined engines block mount() even with the capability; lift only that confinement
    if (info.securityOptions.some(o => o.includes('name=apparmor'))) args.push('--security-opt', 'apparmor=unconfined')
    if (info.securityOptions.some(o => o.includes('name=selinux'))) args.push('--security-opt', 'label=disable')
  }
  for (const m of mounts.filter(x => !x.send)) args.push(...bindMount(m))
  args.push('--entrypoint', 'sh', image, ...scriptArgs(stdin))
  return args
}
