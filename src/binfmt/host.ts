/**
 * The host's binfmt_misc as this process sees it: is it mounted, what entries are there.
 * Reading needs no privilege; mounting needs root (or sudo without a password).
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { run } from '../engine/run.js'
import { parseEntry, type Entry } from './entry.js'

export const BINFMT_MISC = '/proc/sys/fs/binfmt_misc'

const exists = (p: string): Promise<boolean> =>
  fs.access(p).then(
    () => true,
    () => false
  )

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
      const r = await run(tool, args, { timeout: 30 })
      if (r.exitCode === 0 && (await exists(path.join(dir, 'register')))) {
        return { mountedNow: true, how: [tool, ...args].join(' ') }
      }
      errors.push(`${tool}: ${r.stderr.trim() || `exit code ${r.exitCode}`}`)
    } catch (err) {
      errors.push(`${tool}: ${(err as Error).message}`)
    }
  }
  throw new Error(
    `binfmt_misc is not mounted on this host and could not be mounted (${errors.join('; ')}). ` +
      `Run \`sudo mount -t binfmt_misc binfmt_misc ${dir}\` before this step, or run the job as root.`
  )
}

export async function readEntries(dir = BINFMT_MISC): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>()
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return entries
  }
  await Promise.all(
    names
      .filter(n => n !== 'register' && n !== 'status')
      .map(async n => {
        try {
          entries.set(n, parseEntry(n, await fs.readFile(path.join(dir, n), 'utf8')))
        } catch {
          // removed while we read: not there
        }
      })
  )
  return entries
}

/** binfmt_misc can be switched off as a whole (`echo 0 > status`); then no entry works. */
export async function globallyEnabled(dir = BINFMT_MISC): Promise<boolean> {
  try {
    return (await fs.readFile(path.join(dir, 'status'), 'utf8')).trim() === 'enabled'
  } catch {
    return false
  }
}
