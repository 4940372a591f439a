/** Types for timing.mjs, which stays plain JavaScript so that node runs it with no build. */
export declare function durations(text: string): Map<string, number[]>
export declare function comparison(
  runs: Map<string, number[]>,
  first: string,
  second: string
): { table?: string; ratio?: string; problem?: string }
export declare function main(argv: string[], env?: Record<string, string | undefined>): number
