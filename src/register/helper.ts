/**
 * Registering through a helper container: the only way that works without root on the host and that
 * rootful engines everywhere allow. It mounts binfmt_misc inside the container and writes each change;
 * with `F` the kernel opens the emulator during the write, so entries keep working after it exits.
 */
import * as core from '@actions/core'
import { INTERPRETER_DIR } from '../constants.js'
import { oneLine, type Docker, type EngineInfo } from '../engine/docker.js'
import type { Privilege } from '../inputs/inputs.js'
import { Registrar, type Change, type ChangeResult, type Mount } from './registrar.js'

// Fixed text: every value reaches it as a positional argument, never as code.
const SCRIPT = `
b=/binfmt_misc
mkdir -p "$b"
if ! err=$(mount -t binfmt_misc binfmt_misc "$b" 2>&1); then echo "mountfail $err"; exit 3; fi
while [ $# -gt 0 ]; do
  op=$1; name=$2; shift 2
  if [ "$op" = add ]; then
    line=$1; shift
    if err=$( (printf '%s' "$line" >"$b/register") 2>&1 ); then echo "ok add $name"
    elif [ -e "$b/$name" ]; then echo "exists add $name"
    else echo "failed add $name $err"; fi
  else
    value=-1; [ "$op" = disable ] && value=0
    if [ ! -e "$b/$name" ]; then echo "gone $op $name"
    elif err=$( (echo $value >"$b/$name") 2>&1 ); then echo "ok $op $name"
    else echo "failed $op $name $err"; fi
  fi
done
`

export type PrivilegeMode = 'least' | 'privileged'

/** How a mode reads in logs and messages. */
const asFlag = (mode: PrivilegeMode | undefined): string => (mode === 'privileged' ? '--privileged' : '--cap-add SYS_ADMIN')

export class HelperRegistrar extends Registrar {
  /** which privilege worked; post uses the same */
  mode?: PrivilegeMode

  constructor(
    private readonly docker: Docker,
    private readonly image: string,
    private readonly privilege: Privilege,
    mode?: PrivilegeMode
  ) {
    super()
    this.mode = mode
  }

  private ready?: Promise<EngineInfo>

  /** The engine's answer and the helper image, once, however often it is asked. */
  prepare(): Promise<EngineInfo> {
    this.ready ??= Promise.all([this.docker.info(), this.docker.ensureImage(this.image, false)]).then(([info]) => info)
    return this.ready
  }

  get method(): string {
    return `helper container (${asFlag(this.mode)})`
  }

  interpreterDir(key: string, _hostDir?: string): string {
    return `${INTERPRETER_DIR}/${key.slice(0, 12)}`
  }

  protected async write(changes: readonly Change[], mounts: readonly Mount[]): Promise<ChangeResult[]> {
    const info = await this.prepare()
    if (info.rootless) {
      throw new Error(
        'this Docker engine is rootless: its containers cannot write the kernel-wide binfmt_misc table. ' +
          'Run the step on a rootful engine, or have an administrator register the emulators once.'
      )
    }
    const modes: PrivilegeMode[] = this.mode
      ? [this.mode]
      : this.privilege === 'auto'
        ? ['least', 'privileged']
        : [this.privilege === 'true' ? 'privileged' : 'least']
    const refusals: string[] = []
    for (const mode of modes) {
      const outcome = await this.runHelper(mode, info.securityOptions, changes, mounts)
      if (outcome.refused === undefined) {
        this.mode = mode
        core.info(`registered through a helper container with ${asFlag(mode)}`)
        return outcome.results
      }
      refusals.push(`${asFlag(mode)}: ${outcome.refused}`)
      if (modes.length > 1 && mode === 'least') core.info(`least privilege was refused (${outcome.refused}); trying --privileged`)
    }
    throw new Error(
      `the engine refused the helper container the privilege it needs to write binfmt_misc (${refusals.join('; ')}). ` +
        (this.privilege === 'auto' ? '' : 'Try `privileged: auto`. ') +
        'Rootless and locked-down engines cannot do this: use a rootful Docker engine.'
    )
  }

  private async runHelper(
    mode: PrivilegeMode,
    securityOptions: readonly string[],
    changes: readonly Change[],
    mounts: readonly Mount[]
  ): Promise<{ refused?: string; results: ChangeResult[] }> {
    const args = ['run', '--rm', '--network', 'none', '--user', '0:0', '--entrypoint', 'sh']
    if (mode === 'privileged') args.push('--privileged')
    else {
      args.push('--cap-add', 'SYS_ADMIN')
      // confined engines block mount() even with the capability; lift only that confinement
      if (securityOptions.some(o => o.includes('name=apparmor'))) args.push('--security-opt', 'apparmor=unconfined')
      if (securityOptions.some(o => o.includes('name=selinux'))) args.push('--security-opt', 'label=disable')
    }
    for (const m of mounts) args.push('--volume', `${m.host}:${m.target}:ro`)
    args.push(this.image, '-c', SCRIPT, 'sh')
    for (const c of changes) args.push(c.op, c.name, ...(c.op === 'add' ? [c.line] : []))

    const r = await this.docker.call(args)
    const lines = r.stdout.split('\n').filter(l => l.trim() !== '')
    const mountFail = lines.find(l => l.startsWith('mountfail '))?.slice('mountfail '.length)
    if (mountFail !== undefined && /not found/i.test(mountFail)) {
      throw new Error(
        `the helper image ${this.image} cannot mount binfmt_misc (${mountFail}): use an image with sh and mount, such as busybox`
      )
    }
    if (mountFail !== undefined) return { refused: `mounting binfmt_misc failed: ${mountFail}`, results: [] }
    if (r.exitCode === 127 || /"sh".*(executable file not found|no such file or directory)/i.test(r.stderr)) {
      throw new Error(
        `the helper image ${this.image} has no POSIX shell (sh) to run the registration: ` +
          `use an image with sh and mount, such as busybox (${oneLine(r.stderr)})`
      )
    }
    if (r.exitCode === 125 || r.exitCode === 126) {
      return { refused: oneLine(r.stderr) || `docker run exited ${r.exitCode}`, results: [] }
    }
    if (r.exitCode !== 0) {
      throw new Error(`the helper container exited with code ${r.exitCode}: ${oneLine(r.stderr || r.stdout)}`)
    }
    return { results: changes.map(c => resultFor(c, lines)) }
  }
}

/** The helper's answer for one change (`<status> <op> <name> [error]`). */
export function resultFor(change: Change, lines: readonly string[]): ChangeResult {
  for (const line of lines) {
    const [status, op, name, ...error] = line.split(' ')
    if (op !== change.op || name !== change.name) continue
    if (status === 'failed') return { change, status, error: error.join(' ') || 'write refused' }
    if (status === 'ok' || status === 'exists' || status === 'gone') return { change, status }
  }
  return { change, status: 'failed', error: 'the helper did not report on it' }
}
