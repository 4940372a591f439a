/** Scratch directories. Toolkit-free: the early start makes one before the toolkit has loaded. */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

/** The mount point a directory is on, when /proc/self/mountinfo says that filesystem is mounted noexec. */
export function noexecMountIn(mountinfo: string, dir: string): string | undefined {
  let best: { point: string; noexec: boolean } | undefined
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ')
    const point = fields[4]?.replace(/\\040/g, ' ')
    if (!point || !(dir === point || dir.startsWith(point === '/' ? '/' : `${point}/`))) continue
    // the last mount of the longest mount point is the one in force
    if (!best || point.length >= best.point.length) best = { point, noexec: (fields[5] ?? '').split(',').includes('noexec') }
  }
  return best?.noexec ? best.point : undefined
}

/** Memory a hosted runner's scratch directory may use, and the room it must find there. */
export const MEMORY_DIR = '/dev/shm'
export const MEMORY_ROOM = 2 ** 30

/** What the choice of a scratch directory reads from the system. */
export interface ScratchLook {
  mountinfo: () => string
  /** bytes free to this user under dir */
  free: (dir: string) => number
}

const system: ScratchLook = {
  mountinfo: () => fs.readFileSync('/proc/self/mountinfo', 'utf8'),
  free: dir => {
    const s = fs.statfsSync(dir)
    return s.bavail * s.bsize
  }
}

/** Whether dir is itself the mount point of a tmpfs that lets programs run. */
export function isRunnableTmpfs(mountinfo: string, dir: string): boolean {
  // the last mount at a point is the one in force
  const line = mountinfo
    .split('\n')
    .filter(l => l.split(' ')[4] === dir)
    .pop()
  return line !== undefined && line.split(' - ')[1]?.split(' ')[0] === 'tmpfs' && !noexecMountIn(mountinfo, dir)
}

/**
 * Where this run's scratch directory is made. A GitHub-hosted runner's goes in memory when it has room:
 * the emulators a run restores there (~100 MB for `all`) would otherwise be written out to the disk the
 * engine's own small synced writes share, and make them wait; the VM, and any memory the registered
 * emulators still hold, ends with the job. Elsewhere it is RUNNER_TEMP, which the runner empties.
 */
export function scratchBase(env: NodeJS.ProcessEnv = process.env, look: ScratchLook = system): string {
  const disk = env.RUNNER_TEMP || os.tmpdir()
  if (env.RUNNER_ENVIRONMENT !== 'github-hosted') return disk
  try {
    return isRunnableTmpfs(look.mountinfo(), MEMORY_DIR) && look.free(MEMORY_DIR) >= MEMORY_ROOM ? MEMORY_DIR : disk
  } catch {
    return disk
  }
}

/** A new directory for this run, which nobody else can have made or linked beforehand. */
export const makeScratchDir = (env: NodeJS.ProcessEnv = process.env, look?: ScratchLook): string =>
  fs.mkdtempSync(path.join(scratchBase(env, look), 'setup-qemu-'))
