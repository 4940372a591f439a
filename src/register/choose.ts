/**
 * Where the writes to binfmt_misc are made from. The runner itself, where the table is its own (the
 * engine is local, or there is none) and it may write it (root, or passwordless sudo): no engine, no
 * image and no container. A helper container otherwise: container jobs, ARC pods, remote engines and
 * runners without sudo. `register-from` forces one; forcing the runner where it cannot work fails
 * before anything changes.
 */
import * as io from '@actions/io'
import * as fs from 'node:fs'
import { MAX_INTERPRETER } from '../binfmt/entry.js'
import { runCommand } from '../exec/command.js'
import { oneLine } from '../engine/docker.js'
import { engineElsewhere } from '../engine/endpoint.js'
import type { RegisterFrom } from '../inputs/inputs.js'
import { PROBE_ENV } from '../probe/run.js'

/** What the choice is made from, learned without the engine. */
export interface RunnerFacts {
  root: boolean
  /** `sudo -n true` worked; or why not (no sudo, a password asked for). Not asked as root. */
  sudo: true | { why: string }
  /** why the engine may be on another machine, from the CLI's settings; undefined when it is local */
  elsewhere?: string
  /**
   * this process runs in a user namespace of its own: on Linux 6.7 and later the binfmt_misc it mounts
   * there is its own too, which the engine's containers do not use
   */
  ownUserNamespace: boolean
  /** a docker CLI is on PATH */
  dockerCli: boolean
  /** why an entry could not name an emulator under this run's scratch directory, where it could not */
  scratch?: string
}

export interface Choice {
  /** the registrar's kind: `runner` or `container` where auto chooses, any kind register-from names */
  kind: Exclude<RegisterFrom, 'auto'>
  /** why, for the log */
  why: string
  /** the runner writes through `sudo -n` */
  sudo: boolean
  /** register-from named it: nothing else is tried */
  forced: boolean
}

/** What to do, after why the runner cannot register itself. */
const FORCED =
  'register-from: runner cannot work here: use register-from: auto (or container) to register through a helper container'

/** Refuses a forced `runner` that cannot work: nothing has changed yet. */
const cannot = (why: string, fix: string): Error => new Error(`${FORCED}. ${why}; ${fix}.`)

/** The choice, from the input and the facts. Throws where `runner` is forced and cannot work. */
export function choose(from: RegisterFrom, f: RunnerFacts): Choice {
  // a kind named outright (container, or any other register-from allows) is used as it is
  if (from !== 'auto' && from !== 'runner') return { kind: from, why: `register-from: ${from}`, sudo: false, forced: true }
  const forced = from === 'runner'
  const helper = (why: string): Choice => ({ kind: 'container', why, sudo: false, forced: false })
  if (f.elsewhere) {
    if (forced) {
      throw cannot(
        `The engine may be on another machine (${f.elsewhere}), whose kernel would not see entries registered here`,
        'unset DOCKER_HOST (or the docker context) for this step if only this runner needs the emulators'
      )
    }
    return helper(`the engine may be on another machine (${f.elsewhere})`)
  }
  if (f.ownUserNamespace && f.dockerCli) {
    const why = "a user namespace of its own, whose binfmt_misc the engine's containers may not use"
    if (forced) throw cannot(`This runner is in ${why}`, "run the step in the machine's own user namespace")
    return helper(`this runner is in ${why}`)
  }
  if (f.scratch) {
    const why = `this run's scratch directory ${f.scratch}`
    if (forced) throw cannot(`This run's scratch directory ${f.scratch}`, 'point RUNNER_TEMP at a shorter path without them')
    return helper(why)
  }
  const mark = forced ? ' (register-from: runner)' : ''
  if (f.root) return { kind: 'runner', why: `root${mark}`, sudo: false, forced }
  if (f.sudo === true) return { kind: 'runner', why: `passwordless sudo${mark}`, sudo: true, forced }
  if (forced) {
    throw cannot(
      `This step runs as an unprivileged user without passwordless sudo (${f.sudo.why})`,
      "run the job as root, or give the runner's user passwordless sudo"
    )
  }
  return helper(`not root, and no passwordless sudo (${f.sudo.why})`)
}

/**
 * The choice once this runner is found not to see binfmt_misc nor to be able to mount it (a container
 * job, an ARC pod), `why` saying so: through the engine, unless `runner` was forced.
 */
export function throughEngine(c: Choice, why: string): Choice {
  if (c.kind === 'container') return c
  if (c.forced) throw cannot(why.charAt(0).toUpperCase() + why.slice(1), 'mount it before this step, or run the job as root')
  return { kind: 'container', why, sudo: false, forced: false }
}

/** The line the log says the choice with. */
export const choiceLine = (c: Choice): string =>
  c.kind === 'runner' ? `registering from the runner itself: ${c.why}` : `registering through a helper container: ${c.why}`

/**
 * Room for what follows the scratch directory in an emulator's path: `download-XXXXXX/qemu-loongarch64`
 * and the tool cache's snapshots fit; a restored Actions cache entry's path is longer, and one too long
 * for an entry is refused when the entries are planned, saying so.
 */
const EMULATOR_PATH_ROOM = 40

/**
 * Why the entries could not name emulators under a run's scratch directory, where the runner's own
 * entries point; undefined when they can. The helper's entries name a short path of its own instead.
 */
export function unfitForEntries(dir: string): string | undefined {
  if (/[:\s\\]/.test(dir)) return `(${dir}) has a space, a colon or a backslash, which an entry's interpreter path cannot have`
  if (dir.length + EMULATOR_PATH_ROOM > MAX_INTERPRETER) {
    return `(${dir}) is too long to name emulators in entries (at most ${MAX_INTERPRETER - EMULATOR_PATH_ROOM} characters)`
  }
  return undefined
}

/** `sudo -n true`, with the probes' environment: whether sudo works here without a password, or why not. */
async function trySudo(): Promise<RunnerFacts['sudo']> {
  const sudo = await io.which('sudo', false)
  if (!sudo) return { why: 'there is no sudo on PATH' }
  try {
    const r = await runCommand(sudo, ['-n', 'true'], { timeout: 30, env: PROBE_ENV })
    return r.exitCode === 0 ? true : { why: oneLine(r.stderr) || `sudo -n true exited with ${r.exitCode}` }
  } catch (err) {
    return { why: (err as Error).message }
  }
}

/** Whether this process's user namespace is the machine's own: that one maps every id to itself. */
function inOwnUserNamespace(): boolean {
  try {
    const [inside, outside, count] = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/)
    return !(inside === '0' && outside === '0' && count === '4294967295')
  } catch {
    return false
  }
}

/** The facts, each asked only where the choice needs it; nothing here reaches the engine. */
export async function runnerFacts(
  from: RegisterFrom,
  /** this run's scratch directory, where the runner's entries name the emulators */
  scratchDir: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<RunnerFacts> {
  const root = process.getuid?.() === 0
  const elsewhere = engineElsewhere(env)
  const asks = from !== 'container' && !elsewhere
  const [sudo, dockerCli] = await Promise.all([
    asks && !root ? trySudo() : Promise.resolve({ why: 'not asked' }),
    io.which('docker', false).then(p => p !== '')
  ])
  const scratch = asks ? unfitForEntries(scratchDir) : undefined
  return { root, sudo, elsewhere, ownUserNamespace: asks && inOwnUserNamespace(), dockerCli, ...(scratch ? { scratch } : {}) }
}
