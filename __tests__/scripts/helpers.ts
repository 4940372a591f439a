/** Shared by the tests of scripts/ci/. */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setLogSink } from '../../scripts/ci/outputs.mjs'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A file of the repository, as it is now. */
export const readRepo = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8')

/** A file of __tests__/scripts/fixtures/. */
export const fixture = (name: string): string => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

/** Captures what the scripts print (workflow commands among it), so it stays out of the test output. */
export function captureLog(): { lines: string[]; restore: () => void } {
  const lines: string[] = []
  const restore = setLogSink(line => lines.push(line))
  return { lines, restore }
}

/** Runs fn with what the scripts print captured; returns fn's result and the lines. */
export async function captured<T>(fn: () => T | Promise<T>): Promise<{ result: T; lines: string[] }> {
  const log = captureLog()
  try {
    return { result: await fn(), lines: log.lines }
  } finally {
    log.restore()
  }
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-scripts-'))
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}
