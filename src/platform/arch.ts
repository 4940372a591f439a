/**
 * What each platform of the table is called outside it, by Node (`process.arch`), by the QEMU release
 * tarballs, and by a kernel's `uname -m`: the words are in the table's `names`, read here.
 */
import { PLATFORMS, type Platform } from './platforms.js'

const archWhere = (match: (n: Platform['names']) => boolean): Platform | undefined => PLATFORMS.find(p => match(p.names))

/** Node's `process.arch` to the table (for the host's own platform). */
export function fromNodeArch(nodeArch: string): Platform | undefined {
  return archWhere(n => n.node === nodeArch)
}

/** Node's arch in the release tarballs' naming. */
export function tarballArch(nodeArch: string): string {
  return archWhere(n => n.node === nodeArch)?.names.tarball ?? nodeArch
}

/** The platform whose CPU `uname -m` names (armv7l, i686 and the like included). */
export function platformOfMachine(machine: string): Platform | undefined {
  return archWhere(n => n.machine?.test(machine) ?? false)
}
