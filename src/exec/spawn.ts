/**
 * A program in a process group of its own, with a time limit: past it the group, the program and
 * everything it started, is killed. Toolkit-free: the early start runs the probes with it before the
 * toolkit has loaded.
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { killGroup } from './timeout.js'

export interface SpawnOptions {
  limitMs: number
  /** the environment, when not the action's own */
  env?: NodeJS.ProcessEnv
  /** stdin: none, or this input (a promise keeps stdin open until it settles) */
  input?: 'ignore' | Buffer | Promise<Buffer> | undefined
  stdout: 'ignore' | 'pipe'
  stderr: 'ignore' | 'pipe'
  /** called as stdout grows, until the program has ended */
  onStdout?: () => void
}

/** How a program ended: its exit status (128 + n for signal n), killed at the limit, or not started. */
export type Ending = { status: number; signal?: NodeJS.Signals } | { timedOut: true } | { error: NodeJS.ErrnoException }

export interface Spawned {
  readonly pid?: number
  /** what it printed so far */
  readonly stdout: Buffer[]
  readonly stderr: Buffer[]
  readonly ended: Promise<Ending>
}

export function spawnInGroup(file: string, args: readonly string[], opts: SpawnOptions): Spawned {
  const stdin = opts.input === 'ignore' ? 'ignore' : 'pipe'
  const child = spawn(file, [...args], { detached: true, stdio: [stdin, opts.stdout, opts.stderr], env: opts.env })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  let settled = false
  const ended = new Promise<Ending>(resolve => {
    const finish = (how: Ending): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(how)
    }
    const timer = setTimeout(() => {
      if (child.pid) killGroup(child.pid)
      finish({ timedOut: true })
    }, opts.limitMs)
    child.stdout?.on('data', (c: Buffer) => {
      stdout.push(c)
      if (!settled) opts.onStdout?.()
    })
    child.stderr?.on('data', (c: Buffer) => stderr.push(c))
    child.on('error', error => finish({ error }))
    child.on('close', (code, signal) =>
      finish({ status: code ?? 128 + (signal ? constants.signals[signal] : 0), signal: signal ?? undefined })
    )
  })
  if (child.stdin) {
    child.stdin.on('error', () => undefined) // a command that does not read its input
    void Promise.resolve(opts.input as Buffer | Promise<Buffer> | undefined).then(
      data => child.stdin?.end(data),
      () => child.stdin?.end()
    )
  }
  return { pid: child.pid, stdout, stderr, ended }
}
