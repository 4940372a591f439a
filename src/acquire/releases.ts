/**
 * Known release tarballs of the pinned QEMU build, with their SHA-256. Only values from public sources
 * go here (the update-pins workflow keeps them current); a host arch without one needs `download-sha256`.
 */

export interface Release {
  version: string
  /** host arch in the tarball's naming */
  arch: string
  sha256: string
}

export const DEFAULT_VERSION = '10.2.3-68'

export const DEFAULT_URL =
  'https://github.com/tonistiigi/binfmt/releases/download/deploy/v{version}/qemu_v10.2.3_linux-{arch}.tar.gz'

export const RELEASES: readonly Release[] = [
  { version: '10.2.3-68', arch: 'amd64', sha256: '8e7d8f4c0c7809fc3fea0085199fd6b16f671e7c73d9bf6bec711e1cb535920a' }
]

export function knownChecksum(version: string, arch: string): string | undefined {
  return RELEASES.find(r => r.version === version && r.arch === arch)?.sha256
}

export function expandUrl(template: string, version: string, arch: string): string {
  return template.replaceAll('{version}', version).replaceAll('{arch}', arch)
}
