/**
 * Running commands: always an argument array, never a shell string, and always with a time limit that
 * ends the work. @actions/exec cannot stop what it started, so commands are spawned here in a process
 * group of their own, and a command past its limit is killed with everything it started.
 */
import * as core from '@actions/core'
import { spawnInGroup, type Spawned } from './spawn.js'
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
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString()
    let handedOver = false
    let end: () => void = () => undefined
    const child: Spawned = spawnInGroup(tool, args, {
      limitMs: opts.timeout * 1000,
      env: opts.env,
      input: opts.input,
      stdout: 'pipe',
      stderr: 'pipe',
      onStdout: () => {
        if (handedOver || !opts.doneWhen?.test(text(child.stdout))) return
        handedOver = true
        const ends = new Promise<void>(resolve => (end = resolve)).then(() => void ending.delete(ends))
        ending.add(ends)
        core.debug(`done after ${Date.now() - started} ms, still ending: ${line}`)
        resolve({ exitCode: 0, stdout: text(child.stdout), stderr: text(child.stderr) })
      }
    })
    if (child.pid) running.add(child.pid)
    void child.ended.then(how => {
      if (child.pid) running.delete(child.pid)
      const said =
        'timedOut' in how ? 'killed at its time limit' : 'error' in how ? 'failed to start' : `exit ${how.signal ?? how.status}`
      core.debug(`${said} after ${Date.now() - started} ms: ${line}`)
      end()
      if (handedOver) return
      if ('timedOut' in how) reject(new TimeoutError(`\`${tool} ${args[0] ?? ''}\` did not finish within ${opts.timeout}s`))
      else if ('error' in how) reject(how.error)
      else resolve({ exitCode: how.status, stdout: text(child.stdout), stderr: text(child.stderr) })
    })
  })
}
