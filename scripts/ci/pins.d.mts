/** Types for pins.mjs, which stays plain JavaScript so that node runs it with no build. */
export interface Row {
  version: string
  arch: string
  sha256: string
}
export interface Pins {
  image: string
  helper: string
  version: string
  url: string
  table: Row[]
}
export declare const FILES: { constants: string; releases: string; action: string; readme: string }
export declare function splitRef(ref: string): { name: string; digest: string }
export declare function readPins(source: { constants: string; releases: string }): Pins
export declare function formatRow(r: Row): string
export declare function rewriteConstants(text: string, refs: { image: string; helper: string }): string
export declare function rewriteReleases(text: string, pins: { version: string; url: string; table: Row[] }): string
export declare function replaceRef(text: string, oldRef: string, newRef: string): { text: string; count: number }
export declare function replaceVersion(text: string, oldVersion: string, newVersion: string): { text: string; count: number }
export declare function mentions(text: string, version: string): number[]
export declare function runnerTarballArch(runnerArch: string | undefined): string | undefined
export interface KnownBadRow {
  from?: string
  below?: string
  severity: 'warning' | 'notice'
  reason: string
  link: string
}
export declare const KNOWN_BAD_FILE: string
export declare function readKnownBad(text: string): KnownBadRow[]
export declare function formatKnownBad(row: KnownBadRow): string
export declare function addKnownBad(text: string, row: KnownBadRow): string
