/**
 * The one arch map: what each platform of the table is called outside it, by Node (`process.arch`),
 * by the QEMU release tarballs, and by a kernel's `uname -m`.
 */
import { PLATFORMS, byArch, type Platform } from './platforms.js'

interface ArchNames {
  /** Node's `process.arch` on such a host */
  node?: string
  /** the `{arch}` of the release tarball for such a host; without one, Node's word is used */
  tarball?: string
  /** the `uname -m` words of such a kernel */
  machine?: RegExp
}

export const ARCH_NAMES: Readonly<Record<string, ArchNames>> = {
  amd64: { node: 'x64', tarball: 'amd64', machine: /^x86_64$/ },
  '386': { node: 'ia32', tarball: '386', machine: /^i[3-6]86$/ },
  arm64: { node: 'arm64', tarball: 'arm64', machine: /^aarch64$/ },
  arm: { node: 'arm', tarball: 'arm-v7', machine: /^arm$|^armv[5-8]/ },
  riscv64: { node: 'riscv64', tarball: 'riscv64', machine: /^riscv64$/ },
  ppc64le: { node: 'ppc64', tarball: 'ppc64le', machine: /^ppc64le$/ },
  s390x: { node: 's390x', tarball: 's390x', machine: /^s390x$/ },
  mips64le: { node: 'mips64el', machine: /^mips64el$/ },
  // uname says mips64 for either byte order, so the word names neither
  mips64: {},
  loong64: { node: 'loong64', machine: /^loongarch64$/ }
}

const archWhere = (match: (n: ArchNames) => boolean): string | undefined =>
  Object.entries(ARCH_NAMES).find(([, n]) => match(n))?.[0]

/** Node's `process.arch` to the table (for the host's own platform). */
export function fromNodeArch(nodeArch: string): Platform | undefined {
  const arch = archWhere(n => n.node === nodeArch)
  return arch ? byArch(arch) : undefined
}

/** Node's arch in the release tarballs' naming. */
export function tarballArch(nodeArch: string): string {
  const arch = archWhere(n => n.node === nodeArch)
  return (arch && ARCH_NAMES[arch].tarball) ?? nodeArch
}

/** The platform whose CPU `uname -m` names (armv7l, i686 and the like included). */
export function platformOfMachine(machine: string): Platform | undefined {
  const arch = archWhere(n => n.machine?.test(machine) ?? false)
  return PLATFORMS.find(p => p.arch === arch)
}
