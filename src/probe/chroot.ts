/**
 * A probe run chrooted into a directory that holds nothing else, as BuildKit runs its probes: only an
 * entry with F (the kernel holds the emulator open) can run it there.
 */
import * as io from '@actions/io'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { fromStatus, runStatus, type ProbeResult } from './run.js'

/**
 * What a chrooted probe's exit status says: undefined when the probe never ran (chroot exits 125 when
 * it cannot chroot; `sudo -n` exits 1 when it would ask for a password, but as root 1 is the probe's own).
 */
export function chrootResult(status: number | undefined, viaSudo: boolean): ProbeResult | undefined {
  if (status === 125 || (viaSudo && status === 1)) return undefined
  return status === undefined ? { ok: false, error: 'timed out' } : fromStatus(status)
}

/** Runs a probe chrooted into an empty directory. Undefined when no chroot can be done here. */
export async function chrootedProbe(probe: string, scratchDir: string): Promise<ProbeResult | undefined> {
  const asRoot = process.getuid?.() === 0
  // found on the step's PATH, and run by that path: a probe's own PATH is the minimal one
  const tool = await io.which(asRoot ? 'chroot' : 'sudo', false)
  if (!tool) return undefined
  const dir = await fs.mkdtemp(path.join(scratchDir, 'chroot-'))
  try {
    await fs.copyFile(probe, path.join(dir, 'probe'))
    await fs.chmod(path.join(dir, 'probe'), 0o755)
    return chrootResult(await runStatus(tool, asRoot ? [dir, '/probe'] : ['-n', 'chroot', dir, '/probe']), !asRoot)
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
