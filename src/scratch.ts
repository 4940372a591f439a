/** Scratch directories. Toolkit-free: the early start makes one before the toolkit has loaded. */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

/** A new directory for this run, which nobody else can have made or linked beforehand. */
export const makeScratchDir = (env: NodeJS.ProcessEnv = process.env): string =>
  fs.mkdtempSync(path.join(env.RUNNER_TEMP || os.tmpdir(), 'setup-qemu-'))
