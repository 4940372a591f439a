/**
 * What a failed probe means, and what to do about it: said the same way wherever the probe ran.
 */
import type { Entry } from '../binfmt/entry.js'
import { PLATFORMS, entryName } from '../platform/platforms.js'
import type { ProbeResult } from '../probe/run.js'
import type { ChangeResult } from '../register/registrar.js'

/**
 * Why a probe failed. With no enabled entry claiming the binary the kernel can only have refused it
 * (exec format error); Node's exec then hands the file to /bin/sh, so the exit status alone cannot say so.
 */
export function explain(result: ProbeResult, handler: Entry | undefined, own: Entry | undefined): string {
  if (!handler) {
    return own && !own.enabled
      ? `no handler: the entry ${own.name} is disabled; run the step again, which replaces a disabled entry`
      : `no handler: nothing registered claims its binaries${CHANGED_MEANWHILE}`
  }
  switch (result.error) {
    case 'interpreter missing':
      return handler.flags.includes('F')
        ? `interpreter missing: ${handler.interpreter} cannot be started (a dynamic emulator whose loader is missing?)${STATIC}`
        : `handler without F: ${handler.name} points at ${handler.interpreter}, which does not exist here${WITHOUT_F}`
    case 'exec failed':
      return `the kernel refused to run ${handler.interpreter} (${result.detail ?? 'exec failed'}): an emulator built for another host, or on a noexec mount${STATIC}`
    case 'wrong exit code':
      return `the emulator ${handler.interpreter} ran and exited with its own error (${result.detail})${ANOTHER_BUILD}`
    case 'crashed':
      return `the emulator crashed (${result.detail})${ANOTHER_BUILD}`
    default:
      return `${result.error ?? 'failed'}${result.detail ? `: ${result.detail}` : ''}`
  }
}

// what to do, after each reason a probe gives
const CHANGED_MEANWHILE = '; if this step registered it, something removed it since (another job?): run the step again'
export const WITHOUT_F = '; remove that entry (reset: true removes qemu-* ones), and this step registers one with F'
export const STATIC = "; use static emulators built for this runner's arch, such as the default image's"
const ANOTHER_BUILD = '; this QEMU cannot run its programs: use the default image, or another QEMU build'

/**
 * What went wrong in the writes, by arch: a failed write explains a failed probe better than the probe
 * does, and so does an entry the helper said it added that this host's binfmt_misc does not show.
 */
export function writeErrors(
  writes: readonly ChangeResult[],
  entries: ReadonlyMap<string, Entry>,
  /** the table was read through the engine, by a later container than the one that wrote it */
  throughEngine = false
): Map<string, string> {
  const errors = new Map<string, string>()
  for (const r of writes) {
    const p = PLATFORMS.find(q => entryName(q) === r.change.name)
    if (!p) continue
    if (r.status === 'failed') errors.set(p.arch, `registration failed: ${r.error ?? 'failed'}`)
    else if (r.change.op === 'add' && r.status === 'ok' && !entries.has(r.change.name)) {
      if (throughEngine) {
        errors.set(
          p.arch,
          `the helper registered ${r.change.name}, but once it had exited the engine's binfmt_misc no longer showed it: ` +
            "binfmt_misc is not mounted on the engine's host, and the instance the helper mounted went with it. Run " +
            '`sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc` before this step, on the host the engine runs on ' +
            '(on a systemd host, `sudo systemctl start proc-sys-fs-binfmt_misc.mount`)'
        )
        continue
      }
      errors.set(
        p.arch,
        `the helper registered ${r.change.name}, but this host's binfmt_misc does not show it: the engine's containers ` +
          'see a binfmt_misc of their own (a user-namespaced engine, or one on another machine)'
      )
    }
  }
  return errors
}
