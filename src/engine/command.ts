/**
 * Running commands: always an argument array, never a shell string, and always with a time limit that
 * ends the work. @actions/exec cannot stop what it started, so commands are spawned here in a process
 * group of their own, and a command past its limit is killed with everything it started.
 */
import * as core from '@actions/core'
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { TimeoutError, killGroup } from './timeout.js'

export interface RunResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** seconds before the command and its children are killed */
  timeout: number
  /** stdin; a promise keeps it open until it settles (a command started before its input is known) */
  input?: Buffer | Promise<Buffer>
  /** the environment, when not the action's own */
  env?: NodeJS.ProcessEnv
}

/** Process groups still running, so an early exit of the action can end them too. */
const running = new Set<number>()

/** Ends every command still running (the action is about to exit). */
export function killAll(): void {
  for (const pid of running) killGroup(pid)
  running.clear()
}

/** The command line as the debug log shows it: arguments quoted only where they need it. */
export const commandLine = (tool: string, args: readonly string[]): string =>
  [tool, ...args].map(a => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')

export function runCommand(tool: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = Date.now()
  const line = commandLine(tool, args)
  core.debug(`run: ${line}`)
  return new Promise((resolve, reject) => {
    const child = spawn(tool, [...args], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: opts.env })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let settled = false
    const finish = (how: string, then: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (child.pid) running.delete(child.pid)
      core.debug(`${how} after ${Date.now() - started} ms: ${line}`)
      then()
    }
    const timer = setTimeout(() => {
      if (child.pid) killGroup(child.pid)
      finish('killed at its time limit', () =>
        reject(new TimeoutError(`\`${tool} ${args[0] ?? ''}\` did not finish within ${opts.timeout}s`))
      )
    }, opts.timeout * 1000)
    if (child.pid) running.add(child.pid)
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', e => finish('failed to start', () => reject(e)))
    child.on('close', (code, signal) =>
      finish(`exit ${code ?? signal}`, () =>
        resolve({
          exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0),
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString()
        })
      )
    )
    child.stdin.on('error', () => undefined) // a command that does not read its input
    void Promise.resolve(opts.input).then(
      data => child.stdin.end(data),
      () => child.stdin.end()
    )
  })
}
