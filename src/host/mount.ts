/**
 * Mounting the host's binfmt_misc where it is not mounted yet. Reading it needs no privilege;
 * mounting needs root (or sudo without a password).
 */
import * as path from 'node:path'
import { BINFMT_MISC, exists } from '../binfmt/table.js'
import { runCommand } from '../exec/command.js'
import { PROBE_ENV } from '../probe/run.js'

/** binfmt_misc is not mounted here and this process could not mount it; `why` says what each way answered. */
export class NotMountedError extends Error {
  constructor(
    message: string,
    readonly why: string
  ) {
    super(message)
  }
}

export interface MountResult {
  /** true when this run mounted it (it stays mounted: see ensureMounted) */
  mountedNow: boolean
  how?: string
}

/**
 * The host instance must stay mounted after the helper exits: if only the helper mounts it, the last
 * unmount destroys the instance and every entry with it. Accessing the directory triggers systemd's
 * automount where there is one; otherwise mount it here.
 */
export async function ensureMounted(dir = BINFMT_MISC): Promise<MountResult> {
  if (await exists(path.join(dir, 'register'))) return { mountedNow: false }
  const mountArgs = ['-t', 'binfmt_misc', 'binfmt_misc', dir]
  const attempts: [string, string[]][] =
    process.getuid?.() === 0 ? [['mount', mountArgs]] : [['sudo', ['-n', 'mount', ...mountArgs]]]
  const errors: string[] = []
  for (const [tool, args] of attempts) {
    try {
      // none of the step's environment: sudo and mount need only a PATH
      const r = await runCommand(tool, args, { timeout: 30, env: PROBE_ENV })
      if (r.exitCode === 0 && (await exists(path.join(dir, 'register')))) {
        return { mountedNow: true, how: [tool, ...args].join(' ') }
      }
      errors.push(`${tool}: ${r.stderr.trim() || `exit code ${r.exitCode}`}`)
    } catch (err) {
      errors.push(`${tool}: ${(err as Error).message}`)
    }
  }
  throw new NotMountedError(
    `binfmt_misc is not mounted on this host and could not be mounted (${errors.join('; ')}). ` +
      `Run \`sudo mount -t binfmt_misc binfmt_misc ${dir}\` before this step, or run the job as root.`,
    errors.join('; ')
  )
}
