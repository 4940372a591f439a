/**
 * The Docker engine, through its CLI. Every call is an argument array with a time limit, and every
 * failure says what happened and what to try.
 */
import * as io from '@actions/io'
import { CONTAINER_LABEL, RUN_ID } from '../constants.js'
import { runCommand, type RunResult } from './command.js'
import type { Engine } from './engine.js'
import { TimeoutError } from './timeout.js'

export interface EngineInfo {
  securityOptions: string[]
  rootless: boolean
}

/** Seconds for calls that only talk to the local daemon. */
const LOCAL_TIMEOUT = 120

export class Docker implements Engine {
  private infoPromise?: Promise<EngineInfo>

  constructor(
    /** seconds for calls that reach the network (pull) */
    private readonly networkTimeout: number,
    private readonly bin = 'docker'
  ) {}

  async call(args: readonly string[], timeout = LOCAL_TIMEOUT, input?: Buffer): Promise<RunResult> {
    try {
      return await runCommand(this.bin, args, { timeout, input })
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
    try {
      await io.which(this.bin, true)
    } catch {
      throw new Error(
        `${this.bin} is not on PATH. This action needs a Docker engine: use a runner that has one ` +
          '(GitHub-hosted Ubuntu runners do), or install Docker first.'
      )
    }
    const r = await this.call(['info', '--format', '{{json .SecurityOptions}}'])
    const out = r.stdout.trim()
    if (r.exitCode !== 0 || !out.startsWith('[')) {
      await this.notDockers(`${r.stderr}\n${out}`)
      throw new Error(
        `the Docker daemon is not reachable (${oneLine(r.stderr || out)}). Start it ` +
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

  async pull(ref: string, platform?: string): Promise<void> {
    let r: RunResult
    try {
      r = await runCommand(this.bin, ['pull', '--quiet', ...(platform ? ['--platform', platform] : []), ref], {
        timeout: this.networkTimeout
      })
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new Error(
          `pulling ${ref} did not finish within ${this.networkTimeout}s. The registry may be slow or ` +
            'unreachable: raise `timeout`, use a mirror in `image`, or use `source: download`.'
        )
      }
      throw err
    }
    if (r.exitCode !== 0) {
      const why = oneLine(r.stderr) || `exit code ${r.exitCode}`
      const hint = /toomanyrequests|429|rate limit/i.test(r.stderr)
        ? 'The registry is rate-limiting pulls: log in first (docker/login-action), use a mirror, or `source: download`.'
        : 'Check the reference and that this runner can reach the registry (a mirror, or `source: download`, avoids it).'
      throw new Error(`pulling ${ref}${platform ? ` for ${platform}` : ''} failed: ${why}. ${hint}`)
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
    if (!id) throw new Error(`the engine has no image ${ref}${platform ? ` for ${platform}` : ''} after pulling it`)
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
      if (created.exitCode !== 0) throw new Error(`could not create a container from ${ref}: ${oneLine(created.stderr)}`)
      id = created.stdout.trim() || name
      const cp = await this.call(['cp', `${id}:${from}/.`, to])
      if (cp.exitCode !== 0) throw new Error(`could not copy ${from} out of ${ref}: ${oneLine(cp.stderr)}`)
    } finally {
      // also after a failed or timed-out create: the engine may have made the container anyway
      await this.call(['rm', '--force', '--volumes', id]).catch(() => undefined)
    }
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
