/** Scratch directories. Toolkit-free: the early start makes one before the toolkit has loaded. */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

interface Mount {
  point: string
  options: string[]
  type: string
}

/** The mounts /proc/self/mountinfo lists, in its order: where, with which options, which filesystem. */
function mountsIn(mountinfo: string): Mount[] {
  return mountinfo.split('\n').flatMap(line => {
    const fields = line.split(' ')
    const point = fields[4]?.replace(/\\040/g, ' ')
    return point ? [{ point, options: (fields[5] ?? '').split(','), type: line.split(' - ')[1]?.split(' ')[0] ?? '' }] : []
  })
}

/** The mount point a directory is on, when /proc/self/mountinfo says that filesystem is mounted noexec. */
export function noexecMountIn(mountinfo: string, dir: string): string | undefined {
  let best: Mount | undefined
  for (const m of mountsIn(mountinfo)) {
    if (!(dir === m.point || dir.startsWith(m.point === '/' ? '/' : `${m.point}/`))) continue
    // the last mount of the longest mount point is the one in force
    if (!best || m.point.length >= best.point.length) best = m
  }
  return best?.options.includes('noexec') ? best.point : undefined
}

/** The runner's temporary directory, which it empties after each job. */
export const runnerTemp = (env: NodeJS.ProcessEnv = process.env): string => env.RUNNER_TEMP || os.tmpdir()

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
  const m = mountsIn(mountinfo)
    .filter(x => x.point === dir)
    .pop()
  return m?.type === 'tmpfs' && !m.options.includes('noexec')
}

/**
 * Where this run's scratch directory is made. A GitHub-hosted runner's goes in memory when it has room:
 * the emulators a run restores there (~100 MB for `all`) would otherwise be written out to the disk the
 * engine's own small synced writes share, and make them wait; the VM, and any memory the registered
 * emulators still hold, ends with the job. Elsewhere it is RUNNER_TEMP, which the runner empties.
 */
export function scratchBase(env: NodeJS.ProcessEnv = process.env, look: ScratchLook = system): string {
  const disk = runnerTemp(env)
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
