/** Types for changelog.mjs, which stays plain JavaScript so that node runs it with no build. */
export interface ChangelogSection {
  name: string
  date?: string
  line: number
  body: string
}
export declare function changelogSections(markdown: string): ChangelogSection[]
export declare function releaseNotes(markdown: string, version: string): string
export declare function addUnreleased(markdown: string, kind: string, entry: string): string
