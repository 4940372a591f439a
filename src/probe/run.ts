/**
 * Running probes on the host. Probes are our own generated files, so they are spawned directly:
 * the errno of a failed exec (ENOEXEC, ENOENT) is what tells "no handler" from "interpreter missing".
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { PROBE_EXIT_CODE, type Platform } from '../platforms.js'
import { buildProbe } from './elf.js'

export interface ProbeResult {
  ok: boolean
  /**
   * what went wrong as far as this process can tell; an exec format error (no handler) usually shows
   * as a wrong exit code, since exec falls back to /bin/sh for it (see verify's explain)
   */
  error?: 'no handler' | 'interpreter missing' | 'wrong exit code' | 'crashed' | 'timed out' | 'exec failed'
  detail?: string
}

const PROBE_TIMEOUT_MS = 20_000

/** Writes one probe per platform into dir (created if needed) and returns their paths by arch. */
export async function writeProbes(dir: string, platforms: readonly Platform[]): Promise<Map<string, string>> {
  await fs.mkdir(dir, { recursive: true })
  const paths = new Map<string, string>()
  await Promise.all(
    platforms.map(async p => {
      const file = path.join(dir, `probe-${p.arch}`)
      await fs.writeFile(file, buildProbe(p), { mode: 0o755 })
      paths.set(p.arch, file)
    })
  )
  return paths
}

export function runProbe(file: string, argv: readonly string[] = []): Promise<ProbeResult> {
  return new Promise(resolve => {
    const child = spawn(file, [...argv], { stdio: 'ignore', timeout: PROBE_TIMEOUT_MS })
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOEXEC') resolve({ ok: false, error: 'no handler', detail: 'exec format error' })
      else if (err.code === 'ENOENT') {
        resolve({ ok: false, error: 'interpreter missing', detail: 'the registered interpreter does not exist here' })
      } else resolve({ ok: false, error: 'exec failed', detail: err.message })
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGTERM' && child.killed) resolve({ ok: false, error: 'timed out', detail: 'no exit in 20s' })
      else if (signal) resolve({ ok: false, error: 'crashed', detail: `killed by ${signal}` })
      else if (code === PROBE_EXIT_CODE) resolve({ ok: true })
      else resolve({ ok: false, error: 'wrong exit code', detail: `exit code ${code}, expected ${PROBE_EXIT_CODE}` })
    })
  })
}

/** Runs every probe at once; they are tiny and independent. */
export async function runProbes(paths: ReadonlyMap<string, string>): Promise<Map<string, ProbeResult>> {
  const results = await Promise.all([...paths].map(async ([arch, file]) => [arch, await runProbe(file)] as const))
  return new Map(results)
}
