/** Types for check-outputs.mjs, which stays plain JavaScript so that node runs it with no build. */
export interface Outputs {
  platforms?: string
  emulated?: string
  failed?: string
  version?: string
}
export declare function outputProblems(
  outputs: Outputs,
  expect?: { runnerArch?: string; emulated?: string[]; present?: string[]; sameAs?: string }
): string[]
export declare function main(argv: string[], env?: Record<string, string | undefined>): number
