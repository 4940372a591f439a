/**
 * Running probes on the host. Probes are our own generated files, so they are spawned directly:
 * the errno of a failed exec (ENOEXEC, ENOENT) is what tells "no handler" from "interpreter missing".
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { PLATFORMS, PROBE_EXIT_CODE, fromNodeArch, type Platform } from '../platforms.js'
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

/**
 * Writes one probe per platform into dir (created if needed) and returns their paths by arch.
 * Synchronous on purpose: a dozen tiny files, and the early start needs them written before the
 * toolkit's loading blocks the event loop.
 */
export function writeProbes(dir: string, platforms: readonly Platform[]): Map<string, string> {
  fs.mkdirSync(dir, { recursive: true })
  return new Map(
    platforms.map(p => {
      const file = path.join(dir, `probe-${p.arch}`)
      // written aside and renamed over: a probe of the same name may be running (ETXTBSY)
      fs.writeFileSync(`${file}.new`, buildProbe(p), { mode: 0o755 })
      fs.renameSync(`${file}.new`, file)
      return [p.arch, file]
    })
  )
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

// Every probe at once from one shell: a process spawned from Node costs a couple of milliseconds, a
// fork from sh far less. Probe paths reach it as arguments, never as code.
const ALL_AT_ONCE = 'for p; do ( "$p" </dev/null >/dev/null 2>&1; echo "$? $p" ) & done; wait'

/** What a shell's exit status says about an exec (126: could not run, 127: not found, 128+n: signal n). */
export function fromStatus(status: number): ProbeResult {
  if (status === PROBE_EXIT_CODE) return { ok: true }
  if (status === 127) return { ok: false, error: 'interpreter missing', detail: 'the registered interpreter does not exist here' }
  if (status === 126) return { ok: false, error: 'exec failed', detail: 'the kernel refused to run it' }
  if (status > 128) return { ok: false, error: 'crashed', detail: `killed by signal ${status - 128}` }
  return { ok: false, error: 'wrong exit code', detail: `exit code ${status}, expected ${PROBE_EXIT_CODE}` }
}

/** Runs every probe at once; they are tiny and independent. */
export function runProbes(paths: ReadonlyMap<string, string>): Promise<Map<string, ProbeResult>> {
  return new Promise(resolve => {
    const byPath = new Map([...paths].map(([arch, file]) => [file, arch]))
    const results = new Map<string, ProbeResult>()
    let out = ''
    const child = spawn('/bin/sh', ['-c', ALL_AT_ONCE, 'sh', ...paths.values()], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: PROBE_TIMEOUT_MS
    })
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('close', () => {
      for (const line of out.split('\n')) {
        const space = line.indexOf(' ')
        const arch = byPath.get(line.slice(space + 1))
        if (space > 0 && arch) results.set(arch, fromStatus(Number(line.slice(0, space))))
      }
      for (const arch of paths.keys()) {
        if (!results.has(arch)) results.set(arch, { ok: false, error: 'timed out', detail: 'no exit in 20s' })
      }
      resolve(results)
    })
  })
}

/**
 * Only the host's own family can run natively, so only those probes (and the requested platforms',
 * to judge their entries) need to run; the probes still decide, not the name of the arch.
 */
export function probesToRun(requested: 'all' | readonly Platform[], nodeArch: string = process.arch): Platform[] {
  const own = fromNodeArch(nodeArch)
  return PLATFORMS.filter(p => requested === 'all' || requested.includes(p) || !own || p.family === own.family)
}

export interface HostProbes {
  /** probe paths by arch, for every platform in the table */
  probes: Map<string, string>
  /** results for the host's family and the requested platforms */
  before: Map<string, ProbeResult>
}

/** Writes the probes and starts them before returning: they run while the caller goes on. */
export function probeHost(dir: string, requested: 'all' | readonly Platform[]): Promise<HostProbes> {
  const probes = writeProbes(dir, PLATFORMS)
  const toRun = new Set(probesToRun(requested).map(p => p.arch))
  return runProbes(new Map([...probes].filter(([arch]) => toRun.has(arch)))).then(before => ({ probes, before }))
}
