/**
 * Probes run chrooted into a directory that holds nothing but them, as BuildKit runs its probes: only an
 * entry with F (the kernel holds the emulator open) can run them there.
 */
import * as io from '@actions/io'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { fromStatus, statusLines, type ProbeResult } from './run.js'

/** What a chrooted probe's exit status says: undefined when the probe never ran (chroot exits 125 when it cannot chroot). */
export function chrootResult(status: number | undefined): ProbeResult | undefined {
  if (status === 125) return undefined
  return status === undefined ? { ok: false, error: 'timed out' } : fromStatus(status)
}

// Every probe at once from one shell, each chrooted into the directory: a process spawned from Node costs
// a couple of milliseconds, a fork from sh far less. The directory and names reach it as arguments, never as code.
const ALL_CHROOTED =
  'echo started; c=$1 d=$2; shift 2; for p; do ( "$c" "$d" "/$p" </dev/null >/dev/null 2>&1; echo "$? $p" ) & done; wait'

/**
 * Runs the probes (paths by arch) chrooted into a directory of their own, all at once, as root or
 * through `sudo -n`. Undefined when no chroot can be done here: no chroot, or no root and no sudo.
 */
export async function chrootedProbes(
  paths: ReadonlyMap<string, string>,
  scratchDir: string
): Promise<Map<string, ProbeResult> | undefined> {
  const asRoot = process.getuid?.() === 0
  // found on the step's PATH and run by that path, as root; through sudo, root's shell finds it
  const chroot = await io.which('chroot', false)
  const sudo = asRoot ? '' : await io.which('sudo', false)
  if (!chroot || (!asRoot && !sudo)) return undefined
  const dir = await fs.mkdtemp(path.join(scratchDir, 'chroot-'))
  try {
    const names = new Map<string, string>()
    for (const [arch, probe] of paths) {
      await fs.copyFile(probe, path.join(dir, `probe-${arch}`))
      await fs.chmod(path.join(dir, `probe-${arch}`), 0o755)
      names.set(`probe-${arch}`, arch)
    }
    const script = ['-c', ALL_CHROOTED, 'sh']
    const { statuses, started } = asRoot
      ? await statusLines('/bin/sh', [...script, chroot, dir, ...names.keys()], names)
      : await statusLines(sudo, ['-n', '/bin/sh', ...script, 'chroot', dir, ...names.keys()], names)
    // the shell never ran: sudo wanted a password, or may not run it
    if (!started) return undefined
    const results = new Map<string, ProbeResult>()
    for (const arch of paths.keys()) {
      const r = chrootResult(statuses.get(arch))
      if (r) results.set(arch, r)
    }
    return results
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
