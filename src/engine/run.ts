/**
 * Running commands: always an argument array through @actions/exec, never a shell string,
 * and always with a time limit so a hung engine cannot hang the job.
 */
import * as exec from '@actions/exec'
import { withTimeout } from './timeout.js'

export interface RunResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** seconds before the call is given up */
  timeout: number
  input?: Buffer
  silent?: boolean
}

export async function run(tool: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const call = exec.getExecOutput(tool, [...args], { ignoreReturnCode: true, silent: opts.silent ?? true, input: opts.input })
  return withTimeout(call, opts.timeout, `\`${tool} ${args[0] ?? ''}\` did not finish within ${opts.timeout}s`)
}
