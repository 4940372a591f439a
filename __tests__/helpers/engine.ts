/**
 * One fake container engine for the unit tests: it implements `Engine`, records every call, and answers
 * each `docker run` as the test scripts it (every other call succeeds with no output).
 */
import type { RunResult } from '../../src/exec/command.js'
import type { Engine, EngineInfo } from '../../src/engine/engine.js'

/** One CLI call as the engine was given it, its stdin read. */
export interface Call {
  args: string[]
  timeout?: number
  stdin?: Buffer
  doneWhen?: RegExp
}

/** How a `docker run` is answered: a result, an error thrown, or one worked out from the call. */
export type RunAnswer = RunResult | Error | ((call: Call) => RunResult | Promise<RunResult>)

export interface FakeEngineOptions {
  /** the answers to the `docker run`s, in order */
  runs?: RunAnswer[]
  /** the answer to every `docker run` after those */
  then?: RunAnswer
  /** what `info` says (or does) */
  info?: EngineInfo | (() => Promise<EngineInfo>)
  /** what `ensureImage` does; by default the image's id */
  ensureImage?: (ref: string) => Promise<string>
}

export const ok = (stdout = '', exitCode = 0, stderr = ''): RunResult => ({ exitCode, stdout, stderr })

/** An engine on a plain host: seccomp, no AppArmor, no user namespace, rootful. */
export const plainInfo = (...securityOptions: string[]): EngineInfo => ({ securityOptions, rootless: false })

export class FakeEngine implements Engine {
  readonly calls: Call[] = []
  private readonly runs: RunAnswer[]
  info: () => Promise<EngineInfo>

  constructor(private readonly o: FakeEngineOptions = {}) {
    this.runs = [...(o.runs ?? [])]
    const info = o.info ?? plainInfo('name=seccomp,profile=builtin')
    this.info = typeof info === 'function' ? info : async () => info
  }

  /** The `docker run` calls alone. */
  get runCalls(): Call[] {
    return this.calls.filter(c => c.args[0] === 'run')
  }

  async ensureImage(ref: string): Promise<string> {
    return this.o.ensureImage ? this.o.ensureImage(ref) : 'sha256:x'
  }

  async copyOut(ref: string, from: string): Promise<void> {
    throw new Error(`the fake engine has no image ${ref} to copy ${from} out of`)
  }

  /** The runs whose containers were swept, in order; there are never any to remove. */
  readonly swept: (string | undefined)[] = []

  removeOwnContainers(run?: string): number {
    this.swept.push(run)
    return 0
  }

  async call(args: readonly string[], timeout?: number, input?: Buffer | Promise<Buffer>, doneWhen?: RegExp): Promise<RunResult> {
    const call: Call = { args: [...args], timeout, doneWhen }
    this.calls.push(call)
    // a container reads all of its stdin before it answers, as the helper's script does
    call.stdin = await input
    if (args[0] !== 'run') return ok()
    const next = this.runs.shift() ?? this.o.then ?? ok()
    if (next instanceof Error) throw next
    return typeof next === 'function' ? next(call) : next
  }
}
