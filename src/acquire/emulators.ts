/**
 * A directory of emulators: which files count, what they are called, what QEMU version they are.
 * Shared by every source, so an image and a tarball end up in the same shape.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { runCommand } from '../exec/command.js'
import { PLATFORMS, emulatorName, type Platform } from '../platform/platforms.js'
import { PROBE_ENV } from '../probe/run.js'
import { fileProblem } from '../platform/host.js'
import { qemuVersionOf } from './qemu-version.js'
import * as log from '../log.js'

/** The platform a file in an image or archive is the emulator for: `qemu-<cpu>`, `-static` allowed. */
export function emulatorFor(name: string): Platform | undefined {
  const m = /^(?:\.\/)?qemu-([a-z0-9_]+?)(?:-static)?$/.exec(name)
  return m ? PLATFORMS.find(p => p.cpu === m[1]) : undefined
}

const isWanted = (p: Platform, wanted: 'all' | readonly Platform[]): boolean => wanted === 'all' || wanted.includes(p)

/**
 * Which of several names for one platform's emulator wins, so the same archive or image always gives
 * the same file: `qemu-<cpu>` before `qemu-<cpu>-static`, and a plain name before its `./` form.
 */
const rank = (name: string): number => (name.endsWith('-static') ? 2 : 0) + (name.startsWith('./') ? 1 : 0)

/** One name per platform, the best by rank (ties, i.e. the same name twice, by name). */
function bestNames(names: readonly string[], wanted: 'all' | readonly Platform[]): Map<Platform, string> {
  const best = new Map<Platform, string>()
  for (const n of names) {
    const p = emulatorFor(n)
    if (!p || !isWanted(p, wanted)) continue
    const had = best.get(p)
    if (had === undefined || rank(n) < rank(had) || (rank(n) === rank(had) && n < had)) best.set(p, n)
  }
  return best
}

/**
 * The archive members to extract: flat emulator entries for the wanted platforms, nothing else, one
 * per platform (tar fails on a member named twice, and two names for one file would race for it).
 */
export function selectMembers(names: readonly string[], wanted: 'all' | readonly Platform[]): string[] {
  const chosen = new Set(bestNames(names, wanted).values())
  return names.filter(n => chosen.delete(n))
}

/**
 * Leaves only regular files named `qemu-<cpu>` for wanted platforms in dir (renaming `-static` ones);
 * links and everything else go, so nothing but an emulator is ever registered from here.
 */
export async function keepOnlyEmulators(dir: string, wanted: 'all' | readonly Platform[]): Promise<void> {
  const names = await fs.readdir(dir)
  const files: string[] = []
  for (const name of names) {
    if ((await fs.lstat(path.join(dir, name))).isFile()) files.push(name)
  }
  const keep = bestNames(files, wanted)
  const kept = new Set(keep.values())
  for (const name of names.filter(n => !kept.has(n))) await fs.rm(path.join(dir, name), { recursive: true, force: true })
  for (const [p, name] of keep) {
    if (name !== emulatorName(p)) await fs.rename(path.join(dir, name), path.join(dir, emulatorName(p)))
    await fs.chmod(path.join(dir, emulatorName(p)), 0o755)
  }
}

/**
 * Drops every emulator in dir that is not an executable for host, with a warning naming the file and
 * what it is: a foreign or broken file must never be cached or registered.
 */
export async function dropForeign(dir: string, host: Platform): Promise<void> {
  for (const p of PLATFORMS) {
    const file = path.join(dir, emulatorName(p))
    let problem: string | undefined
    try {
      problem = await fileProblem(file, host)
    } catch {
      continue // not in this source
    }
    if (problem) {
      log.warning(
        `${emulatorName(p)} is ${problem}: dropped, so this source does not set up ${p.platforms[0]}. Use an image ` +
          "or tarball built for this runner's arch (with source: download, check {arch} in download-url)."
      )
      await fs.rm(file, { force: true })
    }
  }
}

/** The platforms a directory has an executable emulator for, in the platform table's order. */
export async function emulatorsIn(dir: string): Promise<Set<string>> {
  const found = await Promise.all(
    PLATFORMS.map(async p => {
      try {
        const st = await fs.stat(path.join(dir, emulatorName(p)))
        return st.isFile() && st.mode & 0o111 ? p.arch : undefined
      } catch {
        return undefined // not in this source
      }
    })
  )
  return new Set(found.filter(a => a !== undefined))
}

/** Asks one of the emulators (they are host binaries) for QEMU's version. */
export async function qemuVersion(dir: string, has: ReadonlySet<string>): Promise<string | undefined> {
  const p = PLATFORMS.find(q => has.has(q.arch))
  if (!p) return undefined
  try {
    // an emulator run on the host gets no more of the step than a probe does
    const r = await runCommand(path.join(dir, emulatorName(p)), ['--version'], { timeout: 30, env: PROBE_ENV })
    return qemuVersionOf(/version\s+([0-9][^\s,()]*)/.exec(r.stdout)?.[1])
  } catch {
    return undefined
  }
}
