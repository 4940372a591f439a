/**
 * A directory of emulators: which files count, what they are called, what QEMU version they are.
 * Shared by every source, so an image and a tarball end up in the same shape.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { run } from '../engine/run.js'
import { PLATFORMS, emulatorName, type Platform } from '../platforms.js'

/** The platform a file in an image or archive is the emulator for: `qemu-<cpu>`, `-static` allowed. */
export function emulatorFor(name: string): Platform | undefined {
  const m = /^(?:\.\/)?qemu-([a-z0-9_]+?)(?:-static)?$/.exec(name)
  return m ? PLATFORMS.find(p => p.cpu === m[1]) : undefined
}

const isWanted = (p: Platform, wanted: 'all' | readonly Platform[]): boolean => wanted === 'all' || wanted.includes(p)

/** The archive members to extract: flat emulator entries for the wanted platforms, nothing else. */
export function selectMembers(names: readonly string[], wanted: 'all' | readonly Platform[]): string[] {
  return names.filter(n => {
    const p = emulatorFor(n)
    return p !== undefined && isWanted(p, wanted)
  })
}

/**
 * Leaves only regular files named `qemu-<cpu>` for wanted platforms in dir (renaming `-static` ones);
 * links and everything else go, so nothing but an emulator is ever registered from here.
 */
export async function keepOnlyEmulators(dir: string, wanted: 'all' | readonly Platform[]): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const file = path.join(dir, name)
    const p = emulatorFor(name)
    const st = await fs.lstat(file)
    if (p && isWanted(p, wanted) && st.isFile()) {
      if (name !== emulatorName(p)) await fs.rename(file, path.join(dir, emulatorName(p)))
      await fs.chmod(path.join(dir, emulatorName(p)), 0o755)
    } else {
      await fs.rm(file, { recursive: true, force: true })
    }
  }
}

/** The platforms a directory has an executable emulator for. */
export async function emulatorsIn(dir: string): Promise<Set<string>> {
  const has = new Set<string>()
  await Promise.all(
    PLATFORMS.map(async p => {
      try {
        const st = await fs.stat(path.join(dir, emulatorName(p)))
        if (st.isFile() && st.mode & 0o111) has.add(p.arch)
      } catch {
        // not in this source
      }
    })
  )
  return has
}

/** Asks one of the emulators (they are host binaries) for QEMU's version. */
export async function qemuVersion(dir: string, has: ReadonlySet<string>): Promise<string | undefined> {
  const p = PLATFORMS.find(q => has.has(q.arch))
  if (!p) return undefined
  try {
    const r = await run(path.join(dir, emulatorName(p)), ['--version'], { timeout: 30 })
    return /version\s+([0-9][^\s,()]*)/.exec(r.stdout)?.[1]
  } catch {
    return undefined
  }
}
