/** Types for provenance.mjs, which stays plain JavaScript so that node runs it with no build. */
import type { ApiRelease } from './binfmt.mjs'

export declare const GITHUB_ISSUER: string
export declare const UPSTREAM_REPOSITORY: string
export declare const SOURCE_REPOSITORY_OID: string
export declare const SIGSTORE_BUNDLE: string

/** What sigstore's verify returns, as far as these checks read it. */
export interface Signer {
  identity?: {
    subjectAlternativeName?: string
    extensions?: { issuer?: string }
    oids?: { oid?: { id: number[] }; value: Uint8Array }[]
  }
}
export type Verify = (bundle: unknown) => Promise<Signer>
export interface Signed {
  repository: string
  identity?: string
  predicateType?: string
}
export interface ImageRegistry {
  manifest(ref: string): Promise<Uint8Array>
  blob(digest: string): Promise<Uint8Array>
  referrers(digest: string): Promise<{ manifests?: { digest?: string; artifactType?: string }[] }>
}
export declare function sourceRepository(signer: Signer | undefined): string | undefined
export declare function statementOf(bundle: unknown, what: string): { subject?: unknown; predicateType?: string }
export declare function checkSigned(bundle: unknown, expected: { digest: string; what: string }, verify: Verify): Promise<Signed>
export declare function provenanceAsset(
  release: ApiRelease,
  tarball: { name: string; url: string }
): { name: string; url: string }
export declare function verifyTarballProvenance(
  release: ApiRelease,
  tarballs: { name: string; url: string; arch: string; sha256: string }[],
  options: { fetchImpl: unknown; verify: Verify }
): Promise<(Signed & { name: string; arch: string; sha256: string })[]>
export declare function verifyImageProvenance(
  digest: string,
  options: { registry: ImageRegistry; verify: Verify; platforms: string[] }
): Promise<(Signed & { platform: string; manifest: string; attestation: string })[]>
export declare function dockerHub(repository: string, fetchImpl?: unknown): ImageRegistry
export declare function sigstoreVerify(bundle: unknown): Promise<Signer>
