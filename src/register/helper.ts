/**
 * Registering through a helper container: the only way that works without root on the host and that
 * rootful engines everywhere allow. It mounts binfmt_misc inside the container and writes each change;
 * with `F` the kernel opens the emulator during the write, so entries keep working after it exits.
 */
import { hostPlatform } from '../acquire/elf.js'
import { CONTAINER_LABEL, INTERPRETER_DIR, RUN_ID } from '../constants.js'
import { oneLine, type Docker, type EngineInfo } from '../engine/docker.js'
import { TimeoutError } from '../engine/timeout.js'
import type { Privilege } from '../inputs/inputs.js'
import * as log from '../log.js'
import { Registrar, type Change, type ChangeResult, type Mount } from './registrar.js'

// Fixed text: every value reaches it as a positional argument, never as code. Each change is three
// arguments (op, name, line or directory) and is answered by one line `<status> <number> [error]`.
const SCRIPT = `
b=/binfmt_misc
mkdir -p "$b"
if ! err=$(mount -t binfmt_misc binfmt_misc "$b" 2>&1); then echo "mountfail $err"; exit 3; fi
points_into() { while read -r k v; do [ "$k" = interpreter ] && case $v in "$2"/*) return 0 ;; esac; done <"$1"; return 1; }
i=0
while [ $# -ge 3 ]; do
  op=$1; name=$2; arg=$3; shift 3; i=$((i + 1))
  if [ "$op" = remove ]; then
    if [ ! -e "$b/$name" ]; then echo "gone $i"
    elif [ -n "$arg" ] && ! points_into "$b/$name" "$arg"; then echo "changed $i"
    elif err=$( (echo -1 >"$b/$name") 2>&1 ); then echo "ok $i"
    else echo "failed $i $err"; fi
  elif err=$( (printf '%s' "$arg" >"$b/register") 2>&1 ); then
    [ "$op" = add-disabled ] && echo 0 >"$b/$name"
    echo "ok $i"
  elif [ -e "$b/$name" ]; then echo "exists $i"
  else echo "failed $i $err"; fi
done
`

/** What the engine says when it will not grant a container the privilege it asked for. */
const REFUSAL = /privileged|operation not permitted|permission denied|apply caps|capabilit|not allowed/i

export type PrivilegeMode = 'least' | 'privileged'
export const PRIVILEGE_MODES: readonly PrivilegeMode[] = ['least', 'privileged']

/** How a mode reads in logs and messages. */
const asFlag = (mode: PrivilegeMode | undefined): string => (mode === 'privileged' ? '--privileged' : '--cap-add SYS_ADMIN')

/** The helper's answer line for each change, by position. */
export function parseAnswers(stdout: string): Map<number, { status: ChangeResult['status']; error?: string }> {
  const answers = new Map<number, { status: ChangeResult['status']; error?: string }>()
  for (const line of stdout.split('\n')) {
    const m = /^(ok|exists|gone|changed|failed) (\d+)(?: (.*))?$/.exec(line)
    if (m)
      answers.set(Number(m[2]) - 1, {
        status: m[1] as ChangeResult['status'],
        ...(m[1] === 'failed' ? { error: m[3] || 'write refused' } : {})
      })
  }
  return answers
}

/** `--mount` splits its value on commas and reads quotes: a path with either cannot be given there. */
export function bindMount(m: Mount): string[] {
  for (const p of [m.host, m.target]) {
    if (/[,"]/.test(p)) throw new Error(`cannot show ${p} to the helper container: the path has a comma or a quote`)
  }
  return ['--mount', `type=bind,source=${m.host},target=${m.target},readonly`]
}

/** The `docker run` arguments for one helper container (the changes follow them). */
export function helperArgs(
  image: string,
  name: string,
  mode: PrivilegeMode,
  info: EngineInfo,
  mounts: readonly Mount[]
): string[] {
  const args = ['run', '--rm', '--name', name, '--label', `${CONTAINER_LABEL}=${RUN_ID}`, '--network', 'none', '--user', '0:0']
  // a user-namespaced engine would give the helper a private binfmt_misc that vanishes with it
  if (info.securityOptions.some(o => o.includes('name=userns'))) args.push('--userns', 'host')
  if (mode === 'privileged') args.push('--privileged')
  else {
    args.push('--cap-add', 'SYS_ADMIN')
    // confined engines block mount() even with the capability; lift only that confinement
    if (info.securityOptions.some(o => o.includes('name=apparmor'))) args.push('--security-opt', 'apparmor=unconfined')
    if (info.securityOptions.some(o => o.includes('name=selinux'))) args.push('--security-opt', 'label=disable')
  }
  for (const m of mounts) args.push(...bindMount(m))
  args.push('--entrypoint', 'sh', image, '-c', SCRIPT, 'sh')
  return args
}

const changeArgs = (c: Change): string[] =>
  c.op === 'remove' ? ['remove', c.name, c.onlyIfIn ?? ''] : [c.disabled ? 'add-disabled' : 'add', c.name, c.line]

export class HelperRegistrar extends Registrar {
  /** which privilege worked; post uses the same */
  mode?: PrivilegeMode
  private ready?: Promise<EngineInfo>
  /** the helper image's local id: it is run by id, as a copy loaded from a cache has no other name */
  private localImage?: string
  private containers = 0

  constructor(
    private readonly docker: Docker,
    private readonly image: string,
    private readonly privilege: Privilege,
    /** seconds the helper container may take before it is stopped and removed */
    private readonly limit: number,
    mode?: PrivilegeMode
  ) {
    super()
    this.mode = mode
  }

  /**
   * The engine's answer and the helper image, once, however often it is asked. Both are asked at once;
   * when the engine itself is the trouble, its own message is the one reported, not the pull's.
   */
  prepare(): Promise<EngineInfo> {
    this.ready ??= (async () => {
      const info = this.docker.info()
      const image = this.docker.ensureImage(this.image, false, hostPlatform().platforms[0])
      image.catch(() => undefined) // reported below, once the engine has answered
      const answer = await info
      this.localImage = await image
      return answer
    })()
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
      const outcome = await this.runHelper(mode, info, changes, mounts)
      if (outcome.refused === undefined) {
        this.mode = mode
        log.info(`registered through a helper container with ${asFlag(mode)}`)
        return outcome.results
      }
      refusals.push(`${asFlag(mode)}: ${outcome.refused}`)
      if (modes.length > 1 && mode === 'least') log.info(`least privilege was refused (${outcome.refused}); trying --privileged`)
    }
    throw new Error(
      `the engine refused the helper container the privilege it needs to write binfmt_misc (${refusals.join('; ')}). ` +
        (this.privilege === 'auto' ? '' : 'Try `privileged: auto`. ') +
        'Rootless and locked-down engines cannot do this: use a rootful Docker engine.'
    )
  }

  /**
   * One helper container. Its answers are read whatever its exit code, and any answer proves the script
   * ran: only a container that never got that far can have been refused privilege.
   */
  private async runHelper(
    mode: PrivilegeMode,
    info: EngineInfo,
    changes: readonly Change[],
    mounts: readonly Mount[]
  ): Promise<{ refused?: string; results: ChangeResult[] }> {
    const name = `setup-qemu-${RUN_ID}-${++this.containers}`
    const args = [...helperArgs(this.localImage ?? this.image, name, mode, info, mounts), ...changes.flatMap(changeArgs)]
    let r
    try {
      r = await this.docker.call(args, this.limit)
    } catch (err) {
      if (!(err instanceof TimeoutError)) throw err
      // the CLI was killed; the container may still be running and writing
      await this.docker.call(['rm', '--force', '--volumes', name], 60).catch(() => undefined)
      throw new Error(`${(err as Error).message} The helper container ${name} was stopped and removed.`)
    }
    const answers = parseAnswers(r.stdout)
    const mountFail = /^mountfail (.*)$/m.exec(r.stdout)?.[1]
    if (mountFail !== undefined) {
      if (/not found/i.test(mountFail)) {
        throw new Error(
          `the helper image ${this.image} cannot mount binfmt_misc (${mountFail}): use an image with sh and mount, such as busybox`
        )
      }
      if (/permission denied|not permitted/i.test(mountFail))
        return { refused: `mounting binfmt_misc failed: ${mountFail}`, results: [] }
      throw new Error(`the helper container could not mount binfmt_misc: ${mountFail}`)
    }
    if (answers.size === 0) {
      if (r.exitCode === 127 || /"sh".*(executable file not found|no such file or directory)/i.test(r.stderr)) {
        throw new Error(
          `the helper image ${this.image} has no POSIX shell (sh) to run the registration: ` +
            `use an image with sh and mount, such as busybox (${oneLine(r.stderr)})`
        )
      }
      if ((r.exitCode === 125 || r.exitCode === 126) && REFUSAL.test(r.stderr)) {
        return { refused: oneLine(r.stderr), results: [] }
      }
      throw new Error(
        `the helper container failed (docker run exit code ${r.exitCode}): ${oneLine(r.stderr || r.stdout) || 'no message'}`
      )
    }
    const stopped = `the helper stopped before this change (exit code ${r.exitCode}${r.stderr.trim() ? `: ${oneLine(r.stderr)}` : ''})`
    return {
      results: changes.map((change, i): ChangeResult => ({ change, ...(answers.get(i) ?? { status: 'failed', error: stopped }) }))
    }
  }
}
