/** Types for runner.mjs, which stays plain JavaScript so that node runs it with no build. */
export declare const ACTION: string
export declare function inputVariable(name: string): string
export declare function readRecords(file: string): Record<string, string>
export declare function binfmtSnapshot(dir?: string): string
/** The Node action.yml runs the action on, from npm's node-linux-<arch> package. */
export declare function actionNode(): { path: string; version: string }
export declare function containerJob(user: string, dir: string, keep?: string[]): string[]

export interface RunOptions {
  dir?: string
  inputs?: Record<string, string | number | boolean>
  post?: boolean | 'only'
  env?: Record<string, string | undefined>
  clearEnv?: boolean
  wrap?: string[]
  timeoutMs?: number
}

export interface RunResult {
  dir: string
  /** main's exit code; undefined for a post-only run */
  rc?: number
  /** post's exit code; undefined when post did not run */
  postRc?: number
  /** how long main took */
  ms?: number
  outputs: Record<string, string>
  state: Record<string, string>
  summary: string
  mainLog: string
  postLog: string
}

export declare function runAction(options?: RunOptions): Promise<RunResult>
