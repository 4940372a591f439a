/**
 * Registering through a helper container: the only way that works without root on the host and that
 * rootful engines everywhere allow. It mounts binfmt_misc inside the container and writes each change;
 * with `F` the kernel opens the emulator during the write, so entries keep working after it exits.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { linkOrCopy } from '../acquire/cache.js'
import { hostPlatform } from '../acquire/elf.js'
import { CONTAINER_LABEL, INTERPRETER_DIR, RUN_ID } from '../constants.js'
import { oneLine } from '../engine/docker.js'
import type { EngineInfo } from '../engine/engine.js'
import type { Engine } from '../engine/engine.js'
import { TimeoutError } from '../engine/timeout.js'
import type { Privilege } from '../inputs/inputs.js'
import * as log from '../log.js'
import { EMULATOR_NAMES } from '../platforms.js'
import { filesOf, tarOf, type TarFile } from '../engine/tar.js'
import type { EngineView, Look } from '../host/engine-view.js'
import { runnerTemp } from '../scratch.js'
import { shownToHelper } from './handover.js'
import {
  ANSWERED,
  DONE,
  OTHER_KERNEL,
  PROBE_DIR,
  kernelOf,
  parseAnswers,
  parseLook,
  scriptArgs,
  verbArgs,
  workLines,
  type Stdin
} from './protocol.js'
import { Registrar, otherKernel, type Change, type ChangeResult, type Mount } from '../register/registrar.js'

/** What the engine says when it will not grant a container the privilege it asked for. */
const REFUSAL = /privileged|operation not permitted|permission denied|apply caps|capabilit|not allowed/i

export type PrivilegeMode = 'least' | 'privileged'
export const PRIVILEGE_MODES: readonly PrivilegeMode[] = ['least', 'privileged']

/** How a mode reads in logs and messages. */
const asFlag = (mode: PrivilegeMode | undefined): string => (mode === 'privileged' ? '--privileged' : '--cap-add SYS_ADMIN')

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

/** A helper started before its work was known, with the directory it shows where entries will point. */
interface Early {
  mode: PrivilegeMode
  target: string
  inbox: Promise<string>
  give: (work: Buffer) => void
  /** undefined when it cannot be used; the regular way then says why */
  outcome: Promise<Outcome | undefined>
}

const changeArgs = (c: Change): string[] =>
  c.op === 'remove' ? ['remove', c.name, c.onlyIfIn ?? ''] : [c.disabled ? 'add-disabled' : 'add', c.name, c.line]

/**
 * The files the mounts marked `send` hand over (a directory's files, or one file), as one tar stream;
 * undefined when there are none. A file this runner does not have is left out: its write then fails
 * and says so, as a bind mount of it could not have helped either.
 */
async function streamOf(mounts: readonly Mount[]): Promise<Buffer | undefined> {
  const files: TarFile[] = []
  for (const m of mounts.filter(x => x.send)) {
    const st = await fs.lstat(m.host).catch(() => undefined)
    if (st?.isDirectory()) files.push(...(await filesOf(m.host, m.target)))
    else if (st?.isFile()) files.push({ name: m.target.replace(/^\/+/, ''), data: await fs.readFile(m.host), mode: st.mode })
  }
  return files.length ? tarOf(files) : undefined
}

/** What a helper's run came to: its output, or why the engine would not give it the privilege. */
type Outcome = { refused: string } | { refused?: undefined; stdout: string; exitCode: number; stderr: string }

/** The engine went away, or was never there at this address. */
const GONE = /cannot connect to the docker daemon|error during connect|connection refused|broken pipe|connection reset|EOF$/i

export class HelperRegistrar extends Registrar implements EngineView {
  readonly kind = 'container'
  /** which privilege worked; post uses the same */
  mode?: PrivilegeMode
  /** the boot id of the kernel every helper must find: told, or the first one a helper saw */
  private kernel?: string
  private ready?: Promise<EngineInfo>
  /** the helper image's local id: it is run by id, as a copy loaded from a cache has no other name */
  private localImage?: string
  private containers = 0
  private early?: Early

  constructor(
    private readonly docker: Engine,
    private readonly image: string,
    private readonly privilege: Privilege,
    /** seconds the helper container may take before it is stopped and removed */
    private readonly limit: number,
    mode?: PrivilegeMode,
    /** where a helper started early gets its directory; none, none is started early */
    private readonly workDir?: string
  ) {
    super()
    this.mode = mode
  }

  /**
   * The engine's answer and the helper image, once, however often it is asked. Both are asked at once;
   * when the engine itself is the trouble, its own message is the one reported, not the pull's. With
   * the emulators' key, a helper starts as soon as its image is there, so that starting it (most of its
   * time) overlaps fetching them; the emulators are linked into its directory when they arrive.
   */
  prepare(key?: string): Promise<EngineInfo> {
    this.ready ??= (async () => {
      const info = this.docker.info()
      const image = this.docker.ensureImage(this.image, false, hostPlatform().platforms[0])
      image.catch(() => undefined) // reported below, once the engine has answered
      const answer = await info
      this.localImage = await image
      return answer
    })()
    if (key && this.workDir && !this.early) this.startEarly(key, this.workDir)
    return this.ready
  }

  private startEarly(key: string, workDir: string): void {
    let give: (work: Buffer) => void = () => undefined
    const work = new Promise<Buffer>(resolve => (give = resolve))
    const mode = this.modes()[0]
    const target = this.interpreterDir(key)
    const inbox = fs.mkdtemp(path.join(workDir, 'helper-'))
    const outcome = (async () => {
      const info = await (this.ready as Promise<EngineInfo>)
      if (info.rootless) return undefined
      return await this.runHelper(mode, info, [], [{ host: await inbox, target }], work, 'work')
    })().catch((err: Error) => {
      log.debug(`the helper started early is not used: ${err.message}`)
      return undefined
    })
    this.early = { mode, target, inbox, give, outcome }
  }

  /**
   * The helper started early, given this work when it fits (same privilege, same directory, nothing
   * sent on stdin); otherwise it is told there is none. Undefined when it is not there or cannot be used.
   */
  private async fromEarly(
    mode: PrivilegeMode,
    verb: readonly string[],
    mounts: readonly Mount[],
    input?: Buffer
  ): Promise<Outcome | undefined> {
    const early = this.early
    if (!early) return undefined
    const fits = mode === early.mode && verb[0] === 'write' && !input && mounts.every(m => !m.send && m.target === early.target)
    const inbox = fits ? await early.inbox.catch(() => undefined) : undefined
    if (!inbox) {
      await this.release()
      return undefined
    }
    this.early = undefined
    try {
      // the emulators acquire handed over, into the directory the helper shows where entries point
      for (const m of mounts) {
        for (const name of (await fs.readdir(m.host)).filter(n => EMULATOR_NAMES.includes(n))) {
          await linkOrCopy(path.join(m.host, name), path.join(inbox, name))
        }
      }
      early.give(workLines(verb))
    } catch (err) {
      log.debug(`the helper started early is not used: ${(err as Error).message}`)
      early.give(Buffer.alloc(0))
      return undefined
    }
    const outcome = await early.outcome
    // one that never ran the script changed nothing: the regular way runs it again and says why
    if (!outcome || (outcome.refused === undefined && !ANSWERED.test(outcome.stdout))) return undefined
    return outcome
  }

  /** A helper started early is told there is no work, and is gone when this settles. */
  async release(): Promise<void> {
    const early = this.early
    this.early = undefined
    early?.give(Buffer.alloc(0))
    await early?.outcome
  }

  /** The privileges to try, in order. */
  private modes(): PrivilegeMode[] {
    if (this.mode) return [this.mode]
    if (this.privilege === 'auto') return ['least', 'privileged']
    return [this.privilege === 'true' ? 'privileged' : 'least']
  }

  get method(): string {
    return `helper container (${asFlag(this.mode)})`
  }

  get view(): EngineView {
    return this
  }

  expectKernel(id: string): void {
    if (id) this.kernel = id
  }

  /** One kernel for every helper: the first to answer names it where none was told, and the script refuses any other. */
  private sameKernel(stdout: string): void {
    const seen = kernelOf(stdout)
    if (OTHER_KERNEL.test(stdout) || (this.kernel && seen && seen !== this.kernel)) {
      throw otherKernel(seen || 'unknown', this.kernel ?? 'unknown')
    }
    this.kernel ??= seen || undefined
  }

  interpreterDir(key: string, _hostDir?: string): string {
    return `${INTERPRETER_DIR}/${key.slice(0, 12)}`
  }

  protected async write(changes: readonly Change[], given: readonly Mount[]): Promise<ChangeResult[]> {
    // a directory goes in as one of its own holding only the files named: the checked emulators
    const mounts = await shownToHelper(given, this.workDir ?? runnerTemp())
    try {
      return await this.writeWith(changes, mounts)
    } catch (err) {
      // an engine that does not see this runner's paths (another mount namespace, a sidecar): send them
      const missing = /bind source path does not exist/i.exec((err as Error).message)
      if (!missing || !mounts.some(m => !m.send)) throw err
      log.info(`the engine cannot see this runner's files (${(err as Error).message}): sending them to the helper on its stdin`)
      return this.writeWith(
        changes,
        mounts.map(m => ({ ...m, send: true }))
      )
    }
  }

  private async writeWith(changes: readonly Change[], mounts: readonly Mount[]): Promise<ChangeResult[]> {
    const input = await streamOf(mounts)
    const r = await this.inHelper(verbArgs('write', this.kernel, changes.flatMap(changeArgs)), mounts, input)
    const answers = parseAnswers(r.stdout)
    if (answers.size === 0 && !/^ready$/m.test(r.stdout)) this.failed(r)
    log.info(`registered through a helper container with ${asFlag(this.mode)}`)
    const stopped = `the helper stopped before this change (exit code ${r.exitCode}${r.stderr.trim() ? `: ${oneLine(r.stderr)}` : ''})`
    return changes.map((change, i): ChangeResult => ({ change, ...(answers.get(i) ?? { status: 'failed', error: stopped }) }))
  }

  /**
   * The engine's kernel as a helper sees it: for a runner that cannot read binfmt_misc itself, or whose
   * engine is elsewhere. The probes (paths by arch) are sent in and run there, as containers run them.
   */
  async look(probes: ReadonlyMap<string, string>): Promise<Look> {
    const files: TarFile[] = []
    for (const [arch, file] of probes) {
      const st = await fs.stat(file)
      files.push({ name: `${PROBE_DIR.slice(1)}/probe-${arch}`, data: await fs.readFile(file), mode: st.mode })
    }
    const paths = [...probes.keys()].map(arch => `${PROBE_DIR}/probe-${arch}`)
    const r = await this.inHelper(verbArgs('look', this.kernel, paths), [], files.length ? tarOf(files) : undefined)
    if (!/^boot /m.test(r.stdout)) this.failed(r)
    return parseLook(r.stdout)
  }

  /** A helper container with the privilege that works (remembered for the next one), or an error that says why not. */
  private async inHelper(
    verb: readonly string[],
    mounts: readonly Mount[],
    input?: Buffer
  ): Promise<Outcome & { refused?: undefined }> {
    const info = await this.prepare()
    if (info.rootless) {
      throw new Error(
        'this Docker engine is rootless: its containers cannot write the kernel-wide binfmt_misc table. ' +
          'Run the step on a rootful engine, or have an administrator register the emulators once ' +
          '(a rootless Docker-in-Docker sidecar is such an engine: make it a privileged, rootful one).'
      )
    }
    const modes = this.modes()
    const refusals: string[] = []
    for (const mode of modes) {
      const outcome =
        (await this.fromEarly(mode, verb, mounts, input)) ??
        (await this.runHelper(mode, info, verb, mounts, input, input ? 'files' : 'none'))
      if (outcome.refused === undefined) {
        this.mode = mode
        this.sameKernel(outcome.stdout)
        return outcome
      }
      refusals.push(`${asFlag(mode)}: ${outcome.refused}`)
      if (modes.length > 1 && mode === 'least') log.info(`least privilege was refused (${outcome.refused}); trying --privileged`)
    }
    const userns = info.securityOptions.some(o => o.includes('name=userns'))
    throw new Error(
      `the engine refused the helper container the privilege it needs to write binfmt_misc (${refusals.join('; ')}). ` +
        (this.privilege === 'auto' ? '' : 'Try `privileged: auto`. ') +
        (userns
          ? "This engine maps users into a user namespace (userns-remap) and did not let the helper use the host's: " +
            'allow `--userns host` for it, or register the emulators once from a privileged context on its host.'
          : 'Rootless and locked-down engines (one that refuses both --privileged and SYS_ADMIN) cannot do this: ' +
            'use a rootful Docker engine that allows one of them, or have an administrator register the emulators once.')
    )
  }

  /** A helper that did not get far enough to answer: say why, naming the image where it is at fault. */
  private failed(r: { exitCode: number; stdout: string; stderr: string }): never {
    if (r.exitCode === 127 || /"sh".*(executable file not found|no such file or directory)/i.test(r.stderr)) {
      throw new Error(
        `the helper image ${this.image} has no POSIX shell (sh) to run the registration: ` +
          `use an image with sh and mount, such as busybox (${oneLine(r.stderr)})`
      )
    }
    if (GONE.test(oneLine(r.stderr))) {
      throw new Error(
        `the Docker engine went away during this step (${oneLine(r.stderr)}). Every binfmt_misc change is one whole ` +
          'entry, so none is left half-made; check the engine (DOCKER_HOST, the Docker-in-Docker sidecar) and run the step again.'
      )
    }
    throw new Error(
      `the helper container failed (docker run exit code ${r.exitCode}): ${oneLine(r.stderr || r.stdout) || 'no message'}. ` +
        'That is the engine\'s own message: "no matching manifest" or a platform mismatch means helper-image has no ' +
        'variant for this runner (busybox has one for each); for anything else, check the engine (`docker info`) and ' +
        'run the step again.'
    )
  }

  /**
   * One helper container. Its answers are read whatever its exit code, and any answer proves the script
   * ran: only a container that never got that far can have been refused privilege.
   */
  private async runHelper(
    mode: PrivilegeMode,
    info: EngineInfo,
    verb: readonly string[],
    mounts: readonly Mount[],
    input: Buffer | Promise<Buffer> | undefined,
    stdin: Stdin
  ): Promise<Outcome> {
    const name = `setup-qemu-${RUN_ID}-${++this.containers}`
    const args = [...helperArgs(this.localImage ?? this.image, name, mode, info, mounts, stdin), ...verb]
    let r
    try {
      r = await this.docker.call(args, this.limit, input, DONE)
    } catch (err) {
      if (!(err instanceof TimeoutError)) throw err
      // the CLI was killed; the container may still be running and writing
      await this.docker.call(['rm', '--force', '--volumes', name], 60).catch(() => undefined)
      throw new Error(`${(err as Error).message} The helper container ${name} was stopped and removed.`)
    }
    const mountFail = /^mountfail (.*)$/m.exec(r.stdout)?.[1]
    if (mountFail !== undefined) {
      if (/not found/i.test(mountFail)) {
        throw new Error(
          `the helper image ${this.image} cannot mount binfmt_misc (${mountFail}): use an image with sh and mount, such as busybox`
        )
      }
      if (/permission denied|not permitted/i.test(mountFail)) return { refused: `mounting binfmt_misc failed: ${mountFail}` }
      throw new Error(
        `the helper container could not mount binfmt_misc: ${mountFail}. Check that the kernel has binfmt_misc ` +
          '(`sudo modprobe binfmt_misc`), and mount it on the host before this step ' +
          '(`sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc`).'
      )
    }
    if (/^notar$/m.test(r.stdout)) {
      throw new Error(
        `the helper image ${this.image} has no tar to receive the emulators on its stdin, which an engine that cannot ` +
          "see the runner's files needs: use an image with sh, mount and tar, such as busybox"
      )
    }
    const untar = /^untarfail (.*)$/m.exec(r.stdout)?.[1]
    if (untar !== undefined) {
      throw new Error(
        `the helper image ${this.image} could not unpack what was sent to it: ${untar}. Use busybox, whose tar reads the stream.`
      )
    }
    if (/^nood$/m.test(r.stdout)) {
      throw new Error(`the helper image ${this.image} has no od to report the binfmt_misc table: use busybox`)
    }
    const answered = ANSWERED.test(r.stdout)
    if (!answered && (r.exitCode === 125 || r.exitCode === 126) && REFUSAL.test(r.stderr)) return { refused: oneLine(r.stderr) }
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }
  }
}
