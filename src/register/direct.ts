/**
 * Registering from this runner itself, where binfmt_misc is its own (the engine is local, or there is
 * none): as root this process writes the table; otherwise `sudo -n tee FILE` does, a fixed command whose
 * one argument is the file, with the data on its stdin. No engine and no image are needed.
 */
import * as io from '@actions/io'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { isPlainName, parseEntry } from '../binfmt/entry.js'
import { BINFMT_MISC, bootId, exists } from '../binfmt/table.js'
import { runCommand } from '../exec/command.js'
import { oneLine } from '../engine/docker.js'
import { PROBE_ENV } from '../probe/run.js'
import { Registrar, otherKernel, type Change, type ChangeResult } from './registrar.js'

/** How a file of the table is written. A failure throws, with the errno's code where it is known. */
export interface TableWrites {
  /** for the log and summary */
  readonly how: string
  write(file: string, data: string): Promise<void>
}

/** This process writes, as root. */
export const OWN_WRITES: TableWrites = { how: 'as root', write: async (file, data) => fs.writeFile(file, data) }

/** A write takes milliseconds; a sudo that stalls (a PAM module, a name lookup) is ended. */
const SUDO_SECONDS = 60

/**
 * `sudo -n tee FILE`: the argument vector is fixed but for the file, whose name the caller has checked;
 * the data goes in on stdin and what tee echoes is dropped. It runs with the probes' minimal
 * environment, none of the step's, and asks for no password: it fails instead.
 */
export class SudoWrites implements TableWrites {
  readonly how = 'with sudo -n tee'
  private sudo?: Promise<string>

  constructor(private readonly find: () => Promise<string> = async () => io.which('sudo', true)) {}

  /** The argument vector for a file. */
  static args(file: string): string[] {
    return ['-n', 'tee', file]
  }

  async write(file: string, data: string): Promise<void> {
    this.sudo ??= this.find()
    const r = await runCommand(await this.sudo, SudoWrites.args(file), {
      timeout: SUDO_SECONDS,
      input: Buffer.from(data),
      env: PROBE_ENV
    })
    if (r.exitCode === 0) return
    const said = oneLine(r.stderr) || `exit code ${r.exitCode}`
    const code = /File exists\s*$/.test(r.stderr) ? 'EEXIST' : undefined
    throw Object.assign(new Error(`sudo -n tee ${file}: ${said}`), { code })
  }
}

export class DirectRegistrar extends Registrar {
  readonly kind = 'runner'
  private kernel?: string

  constructor(
    private readonly dir = BINFMT_MISC,
    private readonly writes: TableWrites = OWN_WRITES
  ) {
    super()
  }

  get method(): string {
    return `the runner itself, ${this.writes.how}`
  }

  /** Whether it writes through sudo: post writes the same way. */
  get sudo(): boolean {
    return this.writes !== OWN_WRITES
  }

  expectKernel(id: string): void {
    this.kernel = id
  }

  /** The emulators are opened where they are. */
  interpreterDir(_key: string, hostDir: string): string {
    return hostDir
  }

  protected async write(changes: readonly Change[]): Promise<ChangeResult[]> {
    const now = this.kernel ? await bootId() : ''
    if (this.kernel && now && now !== this.kernel) throw otherKernel(now, this.kernel)
    const results: ChangeResult[] = []
    for (const change of changes) results.push(await this.one(change))
    return results
  }

  private async one(change: Change): Promise<ChangeResult> {
    if (!isPlainName(change.name)) {
      return { change, status: 'failed', error: 'not the name of an entry' }
    }
    const entry = path.join(this.dir, change.name)
    try {
      if (change.op === 'add') {
        await this.writes.write(path.join(this.dir, 'register'), change.line)
        if (change.disabled) await this.writes.write(entry, '0')
        return { change, status: 'ok' }
      }
      // an entry that is not there cannot be opened to be removed (EACCES): it is gone
      if (!(await exists(entry))) return { change, status: 'gone' }
      if (change.onlyIfIn !== undefined) {
        const now = parseEntry(change.name, await fs.readFile(entry, 'utf8'))
        if (!now.interpreter.startsWith(`${change.onlyIfIn}/`)) return { change, status: 'changed' }
      }
      await this.writes.write(entry, '-1')
      return { change, status: 'ok' }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (change.op === 'add' && code === 'EEXIST') return { change, status: 'exists' }
      if (change.op === 'remove' && (code === 'ENOENT' || !(await exists(entry)))) return { change, status: 'gone' }
      return { change, status: 'failed', error: (err as Error).message }
    }
  }
}
