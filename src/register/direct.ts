/**
 * Registering by writing binfmt_misc from this process: what the user-namespace tests use, and a way for
 * a runner that can write the kernel's table itself.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { parseEntry } from '../binfmt/entry.js'
import { BINFMT_MISC } from '../binfmt/table.js'
import { Registrar, type Change, type ChangeResult } from './registrar.js'

export class DirectRegistrar extends Registrar {
  readonly method = 'direct write'

  constructor(private readonly dir = BINFMT_MISC) {
    super()
  }

  /** The emulators are opened where they are. */
  interpreterDir(_key: string, hostDir: string): string {
    return hostDir
  }

  protected async write(changes: readonly Change[]): Promise<ChangeResult[]> {
    const results: ChangeResult[] = []
    for (const change of changes) results.push(await this.one(change))
    return results
  }

  private async one(change: Change): Promise<ChangeResult> {
    const entry = path.join(this.dir, change.name)
    try {
      if (change.op === 'add') {
        await fs.writeFile(path.join(this.dir, 'register'), change.line)
        if (change.disabled) await fs.writeFile(entry, '0')
        return { change, status: 'ok' }
      }
      if (change.onlyIfIn !== undefined) {
        const now = parseEntry(change.name, await fs.readFile(entry, 'utf8'))
        if (!now.interpreter.startsWith(`${change.onlyIfIn}/`)) return { change, status: 'changed' }
      }
      await fs.writeFile(entry, '-1')
      return { change, status: 'ok' }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (change.op === 'add' && code === 'EEXIST') return { change, status: 'exists' }
      if (change.op === 'remove' && code === 'ENOENT') return { change, status: 'gone' }
      return { change, status: 'failed', error: (err as Error).message }
    }
  }
}
