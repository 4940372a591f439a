/** Types for release.mjs, which stays plain JavaScript so that node runs it with no build. */
export declare function parseReleaseTag(tag: string): { version: string; major: string; parts: [number, number, number] }
export declare function movesMajor(tag: string, tags: string[]): boolean
export declare function releaseProblems(input: { tag: string; packageJson: string; changelog: string }): string[]
export declare function main(argv: string[], root?: string): number
