/**
 * The Docker engine, through its CLI. Every call is an argument array with a time limit, and every
 * failure says what happened and what to try.
 */
import * as io from '@actions/io'
import { spawnSync } from 'node:child_process'
import { CONTAINER_LABEL, RUN_ID } from '../constants.js'
import { runCommand, type RunResult } from '../exec/command.js'
import { endpointEnv, type Endpoint } from './endpoint.js'
import { PermanentError, withRetries } from '../exec/retry.js'
import type { Engine, EngineInfo } from './engine.js'
import { TimeoutError } from '../exec/timeout.js'

/**
 * As the docker toolkit sets it: content trust would make pulls by digest ask a notary server. A job's
 * DOCKER_DEFAULT_PLATFORM is for its own builds: the CLI would add it to `docker run` of the helper,
 * which runs by id as the image this host pulled, and the engine would refuse that. Every call that
 * needs a platform (pull, create) names it itself.
 */
function engineEnv(endpoint?: Endpoint): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONTENT_TRUST: 'false' }
  delete env.DOCKER_DEFAULT_PLATFORM
  return endpoint ? endpointEnv(env, endpoint) : env
}

/** Seconds for calls that only talk to the local daemon. */
const LOCAL_TIMEOUT = 120

export class Docker implements Engine {
  private infoPromise?: Promise<EngineInfo>

  constructor(
    /** seconds for calls that reach the network (pull) */
    private readonly networkTimeout: number,
    private readonly bin = 'docker',
    /** the engine to reach, when not the one the job's environment names (post: main's) */
    private readonly endpoint?: Endpoint
  ) {}

  async call(
    args: readonly string[],
    timeout = LOCAL_TIMEOUT,
    input?: Buffer | Promise<Buffer>,
    doneWhen?: RegExp
  ): Promise<RunResult> {
    try {
      return await runCommand(this.bin, args, { timeout, input, env: engineEnv(this.endpoint), doneWhen })
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new TimeoutError(`the Docker engine did not answer: ${err.message}. Check that dockerd is healthy.`)
      }
      throw err
    }
  }

  /** Checks that a client and a daemon are there; memoised, so stages can ask in parallel. */
  info(): Promise<EngineInfo> {
    this.infoPromise ??= this.readInfo()
    return this.infoPromise
  }

  private async readInfo(): Promise<EngineInfo> {
    // asked at once, so the CLI starts before anything else is awaited; PATH is searched only when it fails
    const r = await this.call(['info', '--format', '{{json .SecurityOptions}}']).catch(async (err: Error) => {
      if (await io.which(this.bin, false)) throw err
      throw new Error(
        `${this.bin} is not on PATH. This action needs a Docker engine: use a runner that has one ` +
          '(GitHub-hosted Ubuntu runners do), or install Docker first.'
      )
    })
    const out = r.stdout.trim()
    if (r.exitCode !== 0 || !out.startsWith('[')) {
      await this.notDockers(`${r.stderr}\n${out}`)
      const said = oneLine(r.stderr || out)
      if (/permission denied/i.test(said)) {
        // the daemon is there, but its socket is not open to this user
        throw new Error(
          `this user may not use the Docker daemon: its socket refused the connection (${said}). Add the runner's ` +
            'user to the docker group (`sudo usermod -aG docker "$USER"`, then restart the runner service so it ' +
            'takes effect), run the runner as root, or point DOCKER_HOST at an engine this user may use.'
        )
      }
      throw new Error(
        `the Docker daemon is not reachable (${said}). Start it ` +
          '(`sudo systemctl start docker`), or point DOCKER_HOST at a running engine.'
      )
    }
    const securityOptions = JSON.parse(out) as string[]
    return { securityOptions, rootless: securityOptions.some(o => o.includes('name=rootless')) }
  }

  /**
   * A CLI that answers, but not as Docker's does (Podman's docker-compatible one has no SecurityOptions
   * field): say what it is and what to do, rather than that no daemon is there.
   */
  private async notDockers(said: string): Promise<void> {
    if (!/can't evaluate field|podman/i.test(said)) return
    const version = oneLine((await this.call(['--version']).catch(() => undefined))?.stdout ?? '')
    const what = /podman/i.test(`${version} ${said}`)
      ? `Podman's docker-compatible CLI${version ? ` (${version})` : ''}`
      : `a CLI that does not answer as Docker's does${version ? ` (${version})` : ''}`
    throw new Error(
      `${this.bin} here is ${what}, and this action needs a Docker engine (\`${this.bin} info\` said: ${oneLine(said)}). ` +
        'Use a runner with a rootful Docker engine, or register the emulators once on this host from a privileged ' +
        'context (for example `sudo podman run --rm --privileged <a tonistiigi/binfmt image> --install all`).'
    )
  }

  /**
   * The local image's id, or undefined when the engine does not have it (or, with platform, has it
   * only for another platform: a copy pulled for another host is not what this one runs).
   */
  async imageId(ref: string, platform?: string): Promise<string | undefined> {
    // engines that never record a variant have no such key: `index` reads a missing one as empty
    const format = platform ? '{{.Id}} {{.Os}}/{{.Architecture}}{{if index . "Variant"}}/{{index . "Variant"}}{{end}}' : '{{.Id}}'
    const r = await this.call(['image', 'inspect', '--format', format, ref])
    if (r.exitCode !== 0) return undefined
    const [id, has] = r.stdout.trim().split(/\s+/)
    if (!id) return undefined
    return !platform || samePlatform(has ?? '', platform) ? id : undefined
  }

  /**
   * Pulls, retrying what may pass on another attempt (EOF, 5xx, 429, a dropped connection) with backoff
   * within `timeout`; authentication and not-found errors fail at once, named as such.
   */
  async pull(ref: string, platform?: string): Promise<void> {
    const what = `pulling ${ref}${platform ? ` for ${platform}` : ''}`
    await withRetries(async secondsLeft => this.pullOnce(ref, what, platform, secondsLeft), {
      budget: this.networkTimeout,
      what
    })
  }

  private async pullOnce(ref: string, what: string, platform: string | undefined, seconds: number): Promise<void> {
    let r: RunResult
    try {
      r = await runCommand(this.bin, ['pull', '--quiet', ...(platform ? ['--platform', platform] : []), ref], {
        timeout: seconds,
        env: engineEnv(this.endpoint)
      })
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new Error(
          `${what} did not finish within ${this.networkTimeout}s. The registry may be slow or ` +
            'unreachable: raise `timeout`, use a mirror in `image`, or use `source: download`.'
        )
      }
      throw err
    }
    if (r.exitCode === 0) return
    const why = oneLine(r.stderr) || `exit code ${r.exitCode}`
    switch (pullFailure(r.stderr)) {
      case 'auth':
        throw new PermanentError(
          `${what} failed: the registry refused authentication (${why}). Log in first (docker/login-action) ` +
            'with an account that can read the image, or use a public mirror in `image`.'
        )
      case 'not found':
        throw new PermanentError(
          `${what} failed: the image was not found (${why}). Check the name, tag and digest in \`image\` or \`helper-image\`.`
        )
      case 'permanent':
        throw new PermanentError(
          `${what} failed: ${why}. A retry would get the same answer: check the reference, and that the image has a ` +
            "variant for this runner's platform."
        )
      default: {
        const hint = /toomanyrequests|429|rate limit/i.test(r.stderr)
          ? 'The registry is rate-limiting pulls: log in first (docker/login-action), use a mirror, or `source: download`.'
          : 'Check that this runner can reach the registry (a mirror, or `source: download`, avoids it).'
        throw new Error(`${what} failed: ${why}. ${hint}`)
      }
    }
  }

  /**
   * Makes sure the engine has the image (for platform, when given), pulling only when it does not
   * (a digest never changes).
   */
  async ensureImage(ref: string, alwaysPull: boolean, platform?: string): Promise<string> {
    if (!alwaysPull) {
      const id = await this.imageId(ref, platform)
      if (id) return id
    }
    await this.pull(ref, platform)
    const id = await this.imageId(ref, platform)
    if (!id) {
      throw new Error(
        `the engine has no image ${ref}${platform ? ` for ${platform}` : ''} after pulling it: the image may have no ` +
          `variant for ${platform ?? "this runner's platform"}. Use one that has.`
      )
    }
    return id
  }

  /**
   * Copies a directory out of an image without running it. The container is labelled and named for
   * this run, so one left behind (a kill between create and rm) can be found, and it goes with its
   * anonymous volumes.
   */
  async copyOut(ref: string, from: string, to: string, platform?: string): Promise<void> {
    const name = `setup-qemu-copy-${RUN_ID}-${++copies}`
    const args = [
      'create',
      '--name',
      name,
      '--label',
      `${CONTAINER_LABEL}=${RUN_ID}`,
      ...(platform ? ['--platform', platform] : [])
    ]
    let id = name
    try {
      const created = await this.call([...args, ref, 'true'])
      if (created.exitCode !== 0) {
        throw new Error(
          `could not create a container from ${ref} to copy the emulators out of it: ${oneLine(created.stderr)}. ` +
            "Check that the image has a variant for this runner's platform, and that the engine is healthy."
        )
      }
      id = created.stdout.trim() || name
      const cp = await this.call(['cp', `${id}:${from}/.`, to])
      if (cp.exitCode !== 0) {
        throw new Error(
          `could not copy ${from} out of ${ref}: ${oneLine(cp.stderr)}. The emulators are taken from ${from}: use a ` +
            'tonistiigi/binfmt image, or one that keeps its qemu-<cpu> emulators there.'
        )
      }
    } finally {
      // also after a failed or timed-out create: the engine may have made the container anyway
      await this.call(['rm', '--force', '--volumes', id]).catch(() => undefined)
    }
  }

  /**
   * A cancelled step must not leave containers behind: every container a run creates carries its label,
   * so they are found and removed even when the command that created them was killed.
   */
  removeOwnContainers(run = RUN_ID): number {
    const ps = spawnSync(this.bin, ['ps', '--all', '--quiet', '--filter', `label=${CONTAINER_LABEL}=${run}`], {
      encoding: 'utf8',
      timeout: 10_000,
      env: engineEnv(this.endpoint)
    })
    const ids = (ps.stdout ?? '').split('\n').filter(id => /^[0-9a-f]{6,64}$/.test(id))
    if (ids.length > 0)
      spawnSync(this.bin, ['rm', '--force', '--volumes', ...ids], { timeout: 30_000, env: engineEnv(this.endpoint) })
    return ids.length
  }
}

let copies = 0

/** `linux/arm64` against what `image inspect` says; a variant counts only when both sides have one. */
function samePlatform(has: string, want: string): boolean {
  const [os, arch, variant] = has.split('/')
  const [wantOs, wantArch, wantVariant] = want.split('/')
  return os === wantOs && arch === wantArch && (!variant || !wantVariant || variant === wantVariant)
}

export const oneLine = (s: string): string =>
  s
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '')
    .join(' ')
    .slice(0, 400)

/**
 * What a failed pull says about itself: what no retry can fix, by the engine's own words (the daemon
 * passes on the registry's error codes: UNAUTHORIZED, DENIED, MANIFEST_UNKNOWN, NAME_UNKNOWN).
 */
export function pullFailure(stderr: string): 'auth' | 'not found' | 'permanent' | 'transient' {
  if (
    /unauthorized|authentication required|access denied|denied: requested access|\b40[13]\b|no basic auth credentials/i.test(
      stderr
    )
  ) {
    return 'auth'
  }
  if (/not found|manifest unknown|name unknown|repository does not exist|\b404\b/i.test(stderr)) return 'not found'
  if (
    /invalid reference format|no matching manifest|does not match the specified platform|unsupported media type/i.test(stderr)
  ) {
    return 'permanent'
  }
  return 'transient'
}
