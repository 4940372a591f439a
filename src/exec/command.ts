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
  /**
   * Output that says the work is done: the result is handed over when stdout shows it, with exit code
   * 0, while the command goes on to its end (a helper container is removed); `ended()` waits for that.
   */
  doneWhen?: RegExp
}

/** Process groups still running, so an early exit of the action can end them too. */
const running = new Set<number>()

/** The ends of commands whose result was handed over before they ended. */
const ending = new Set<Promise<void>>()

/** Waits for every command whose result was handed over early to end (or to be killed at its limit). */
export async function ended(): Promise<void> {
  await Promise.all([...ending])
}

/** Ends every command still running (the action is about to exit); how many there were. */
export function killAll(): number {
  const killed = running.size
  for (const pid of running) killGroup(pid)
  running.clear()
  return killed
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
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString()
    let settled = false
    let handedOver = false
    let end: () => void = () => undefined
    const finish = (how: string, then: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (child.pid) running.delete(child.pid)
      core.debug(`${how} after ${Date.now() - started} ms: ${line}`)
      end()
      if (!handedOver) then()
    }
    const timer = setTimeout(() => {
      if (child.pid) killGroup(child.pid)
      finish('killed at its time limit', () =>
        reject(new TimeoutError(`\`${tool} ${args[0] ?? ''}\` did not finish within ${opts.timeout}s`))
      )
    }, opts.timeout * 1000)
    if (child.pid) running.add(child.pid)
    child.stdout.on('data', (c: Buffer) => {
      out.push(c)
      if (handedOver || settled || !opts.doneWhen?.test(text(out))) return
      handedOver = true
      const ends = new Promise<void>(resolve => (end = resolve)).then(() => void ending.delete(ends))
      ending.add(ends)
      core.debug(`done after ${Date.now() - started} ms, still ending: ${line}`)
      resolve({ exitCode: 0, stdout: text(out), stderr: text(err) })
    })
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', e => finish('failed to start', () => reject(e)))
    child.on('close', (code, signal) =>
      finish(`exit ${code ?? signal}`, () =>
        resolve({
          exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0),
          stdout: text(out),
          stderr: text(err)
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
