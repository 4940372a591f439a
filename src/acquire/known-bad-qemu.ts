/**
 * QEMU versions known to break the userlands people build today, each with why and where upstream tracks
 * it. When the emulators about to be registered are one of them, the step says so once, and says what
 * to pin instead; it never fails for it: the user may know better (a build that never meets the bug).
 *
 * The table is data, kept one row a line so that scripts/ci/pins.mjs (readKnownBad, addKnownBad) can
 * read and extend it, as update-pins does the RELEASES table: versions are QEMU's own (`X.Y.Z`, as
 * `qemu-<cpu> --version` says it); `from` is the first affected, `below` the first fixed (either may be
 * left out); `severity` is `warning` for a break that is known and fixed in a later QEMU, and `notice` for
 * one that depends on the guest and has no fix yet.
 */
import * as log from '../log.js'
import { SOURCES, isSourceKind } from './index.js'

export interface KnownBadQemu {
  /** first affected version, X.Y.Z; absent: every version before `below` */
  from?: string
  /** first version without the problem, X.Y.Z; absent: every version from `from` on */
  below?: string
  severity: 'warning' | 'notice'
  /** what breaks, and for whom */
  reason: string
  /** the upstream issue */
  link: string
}

// prettier-ignore
export const KNOWN_BAD_QEMU: readonly KnownBadQemu[] = [
  { below: '10.1.3', severity: 'warning', reason: "QEMU before 10.1.3 fails the openat2 calls of glibc 2.43's tar (ENOSYS on 7.0 and 8.2, EINVAL on 9.2.2), so tar breaks in Ubuntu 26.04 (ubuntu-latest now) and EL10 userlands", link: 'https://github.com/tonistiigi/binfmt/issues/285' },
  { from: '9.2.0', below: '9.2.1', severity: 'warning', reason: "QEMU 9.2.0 (tonistiigi/binfmt's qemu-v9.2.0-51) crashes in libc-bin's postinst (ldconfig) in Ubuntu and Debian arm64 builds", link: 'https://github.com/docker/setup-qemu-action/issues/198' },
  { from: '6.1.0', below: '6.1.1', severity: 'warning', reason: 'QEMU 6.1.0 fails thread creation with ENOSYS in arm64 programs (a JVM, for one)', link: 'https://github.com/tonistiigi/binfmt/issues/72' },
  { from: '10.2.0', below: '10.3.0', severity: 'notice', reason: 'QEMU 10.2 crashes (QEMU internal SIGSEGV) in the programs of systemd 260 in an arm64 guest, as when a build installs systemd 260; upstream has no fix yet', link: 'https://github.com/tonistiigi/binfmt/issues/316' }
]

/** X.Y.Z as numbers; undefined for a version that does not start so. */
function parse(version: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return 0
}

/** The rows a version is in, in table order. */
export function knownBadFor(version: string | undefined, table: readonly KnownBadQemu[] = KNOWN_BAD_QEMU): KnownBadQemu[] {
  const v = version === undefined ? undefined : parse(version)
  if (!v) return []
  return table.filter(r => {
    const from = r.from === undefined ? undefined : parse(r.from)
    const below = r.below === undefined ? undefined : parse(r.below)
    return (!from || compare(v, from) >= 0) && (!below || compare(v, below) < 0)
  })
}

/** What to use instead: the emulators this action pins, for the source in use. */
export const pinInstead = (source: string): string => SOURCES[isSourceKind(source) ? source : 'image'].pinInstead

const cite = (rows: readonly KnownBadQemu[]): string => rows.map(r => `${r.reason} (${r.link})`).join('; and ')

/**
 * At most one warning and one notice for the emulators about to be registered: the version, each
 * reason with its link, and what to do.
 */
export function knownBadMessages(
  version: string | undefined,
  source: string,
  table: readonly KnownBadQemu[] = KNOWN_BAD_QEMU
): { warning?: string; notice?: string } {
  const rows = knownBadFor(version, table)
  const warnings = rows.filter(r => r.severity === 'warning')
  const notices = rows.filter(r => r.severity === 'notice')
  return {
    warning: warnings.length
      ? `the emulators are QEMU ${version}, which is known to break builds: ${cite(warnings)}. To avoid that, ` +
        `${pinInstead(source)}. They are registered all the same.`
      : undefined,
    notice: notices.length
      ? `the emulators are QEMU ${version}, which has a known problem in some builds: ${cite(notices)}. If a build ` +
        'fails so, build that platform on a native runner (ubuntu-24.04-arm for arm64) until a fixed QEMU is pinned.'
      : undefined
  }
}

/** Says, once, what is known to go wrong with these emulators. */
export function reportKnownBad(version: string | undefined, source: string): void {
  const { warning, notice } = knownBadMessages(version, source)
  if (warning) log.warning(warning, { title: `QEMU ${version}` })
  if (notice) log.notice(notice, { title: `QEMU ${version}` })
}
