/** Types for binfmt.mjs, which stays plain JavaScript so that node runs it with no build. */
export interface ApiAsset {
  name: string
  digest?: string | null
  browser_download_url: string
  [field: string]: unknown
}
export interface ApiRelease {
  tag_name: string
  draft?: boolean
  prerelease?: boolean
  published_at?: string | null
  html_url?: string
  assets?: ApiAsset[]
  [field: string]: unknown
}
export interface Tarball {
  arch: string
  name: string
  url: string
  sha256: string
}
export declare const UPSTREAM: string
export declare const IMAGE_REPOSITORY: string
export declare const REQUIRED_ARCHES: string[]
export declare function deployVersion(tag: string | undefined): string | undefined
export declare function compareVersions(a: string, b: string): number
export declare function qemuVersion(version: string): string
export declare function imageTag(version: string): string
export declare function latestDeployRelease(
  releases: unknown,
  options?: { includePrereleases?: boolean }
): { version: string; release: ApiRelease } | undefined
export declare function releaseTarballs(release: ApiRelease): Tarball[]
export declare function urlTemplate(release: ApiRelease, tarballs?: Tarball[]): string
export declare function parseImageDigest(output: string): { digest: string; platforms: string[] }
export declare function verifyTarballs(
  tarballs: Tarball[],
  fetchImpl: (
    url: string,
    init?: { redirect?: string }
  ) => Promise<{ ok: boolean; status: number; body: AsyncIterable<Uint8Array> }>
): Promise<{ name: string; ok: boolean; sha256: string }[]>
