/** Types for lint-workflows.mjs, which stays plain JavaScript so that node runs it with no build. */
export interface Finding {
  file: string
  line: number
  rule: string
  message: string
}
export declare const MIN_COOLDOWN_DAYS: number
export declare function lintWorkflow(file: string, source: string, pins?: Map<string, unknown>): Finding[]
export declare function lintDependabot(file: string, source: string): Finding[]
export declare function workflowFiles(root: string): string[]
export declare function lintRepository(root: string): Finding[]
export declare function extraRunnerLabels(root: string): string[]
export declare function actionlint(root: string, files: string[]): Promise<Finding[] | undefined>
export declare function format(f: Finding): string
