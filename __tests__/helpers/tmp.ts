/**
 * Directories of a test file's own under the system's temporary directory, removed once its tests are
 * done (the afterAll is registered where `tempDirs` is called: the file, or a describe).
 */
import { afterAll, afterEach, beforeEach } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

/** A maker of fresh directories named `<prefix>-<label>-…`. */
export function tempDirs(prefix = 'sq'): (label: string) => string {
  const made: string[] = []
  afterAll(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })
  return label => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-${label}-`))
    made.push(dir)
    return dir
  }
}

/**
 * For each test, a fresh tool cache (RUNNER_TOOL_CACHE) and a directory of the run's own, both made by
 * tmp and removed after the test: `dirs.workDir` is the current test's.
 */
export function freshToolCache(tmp: (label: string) => string): { readonly workDir: string } {
  const dirs = { workDir: '' }
  beforeEach(() => {
    process.env.RUNNER_TOOL_CACHE = tmp('toolcache')
    dirs.workDir = tmp('work')
  })
  afterEach(() => {
    fs.rmSync(process.env.RUNNER_TOOL_CACHE as string, { recursive: true, force: true })
    fs.rmSync(dirs.workDir, { recursive: true, force: true })
  })
  return dirs
}
