/** Types for update-pins.mjs, which stays plain JavaScript so that node runs it with no build. */
import type { ApiRelease } from './binfmt.mjs'

export interface Source {
  constants: string
  releases: string
  action: string
  readme: string
  changelog: string
}
export declare const SOURCE_FILES: { constants: string; releases: string; action: string; readme: string; changelog: string }
export interface Changes {
  from: { version: string; image: string; helper: string; arches: string[] }
  to: { version: string; image: string; helper: string; arches: string[] }
  release?: { tag: string; url: string; published: string }
  readme: { replaced: number; review: number[] }
}
export declare function plan(
  releases: unknown,
  source: Source,
  options?: { includePrereleases?: boolean }
): { current: string; latest: string; newer: boolean; release?: ApiRelease; image: string; helper: string }
export declare function apply(
  source: Source,
  input: { release?: ApiRelease; imageInspect: string; helperInspect: string }
): { files: Source; changed: boolean; warnings: string[]; changes: Changes; branch: string; title: string }
export declare function prBody(input: {
  changes: Changes | string
  ci: string
  e2e: string
  runUrl: string
  sha?: string
}): string
export declare function unexpectedChanges(raw: string): string[]
export declare function main(
  argv: string[],
  options?: {
    root?: string
    env?: Record<string, string | undefined>
    fetchImpl?: unknown
    verify?: (bundle: unknown) => Promise<unknown>
    registry?: import('./provenance.mjs').ImageRegistry
  }
): Promise<number>
