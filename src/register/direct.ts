/**
 * Registering by writing binfmt_misc from this process: for a root process that can see the instance
 * it means to change (the tests use it inside a private user-namespace instance).
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { BINFMT_MISC } from '../binfmt/host.js'
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
    for (const change of changes) {
      const entry = path.join(this.dir, change.name)
      try {
        if (change.op === 'add') await fs.writeFile(path.join(this.dir, 'register'), change.line)
        else await fs.writeFile(entry, change.op === 'remove' ? '-1' : '0')
        results.push({ change, status: 'ok' })
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (change.op === 'add' && code === 'EEXIST') results.push({ change, status: 'exists' })
        else if (change.op !== 'add' && code === 'ENOENT') results.push({ change, status: 'gone' })
        else results.push({ change, status: 'failed', error: (err as Error).message })
      }
    }
    return results
  }
}
