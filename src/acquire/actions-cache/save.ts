/**
 * Post's side of the Actions cache: saves the entry main missed, from what main fetched and checked and
 * left in RUNNER_TEMP. Nothing there is taken on trust (a later step of the job could have written to
 * it): it is copied into a directory of post's own and checked against the pin again, the blobs by
 * their digests from the image's digest down, the tarball by its SHA-256, and saved only if it chains.
 * Another job saving the same key at once is normal (the key names the content, so theirs is as good):
 * that is a debug line, not a warning.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { withTimeout } from '../../exec/timeout.js'
import * as log from '../../log.js'
import { runnerTemp } from '../../scratch.js'
import { sha256File } from '../hash.js'
import { RegistryClient } from '../registry/index.js'
import { withinScope, type ArchiveScope } from './archive.js'
import { MAX_ENTRY_BYTES, STAGE, TARBALL, client, type SaveState } from './keys.js'

/** A copy of the regular files and directories below from, at to; links and anything else are left out. */
async function copyTree(from: string, to: string): Promise<void> {
  await fs.mkdir(to, { recursive: true, mode: 0o700 })
  for (const d of await fs.readdir(from, { withFileTypes: true })) {
    if (d.isDirectory()) await copyTree(path.join(from, d.name), path.join(to, d.name))
    else if (d.isFile()) await fs.copyFile(path.join(from, d.name), path.join(to, d.name), fs.constants.COPYFILE_EXCL)
  }
}

/** Why what dir holds does not chain to the pin, or undefined when it does. */
export async function chainProblem(
  state: Pick<SaveState, 'holds' | 'pin' | 'timeout'>,
  dir: string
): Promise<string | undefined> {
  if (state.holds === 'tarball') {
    const got = await sha256File(path.join(dir, TARBALL)).catch(() => undefined)
    if (!got) return 'it holds no tarball'
    return got === state.pin ? undefined : `its tarball's SHA-256 is ${got}, not ${state.pin}`
  }
  const registry = new RegistryClient({ timeout: state.timeout, log: { info: log.debug, debug: log.debug } })
  const out = await fs.mkdtemp(`${dir}.check-`)
  try {
    // offline: the store alone, every blob checked from the digest down; no file is taken out
    await registry.pull(`store.invalid/image@sha256:${state.pin}`, {
      wanted: () => false,
      dir: out,
      maxBytes: MAX_ENTRY_BYTES,
      store: dir,
      offline: true
    })
    return undefined
  } catch (err) {
    return (err as Error).message
  } finally {
    registry.close()
    await fs.rm(out, { recursive: true, force: true })
  }
}

/** Post: saves the entry main missed, if what it left still chains to the pin. */
export async function saveEntry(state: SaveState): Promise<void> {
  const parent = await fs.mkdtemp(path.join(runnerTemp(), 'setup-qemu-actions-cache-'))
  const cwd = process.cwd()
  try {
    const stage = path.join(parent, STAGE[state.holds])
    await copyTree(state.dir, stage)
    const problem = await chainProblem(state, stage)
    if (problem) {
      log.warning(
        `the Actions cache entry ${state.key} is not saved: what main fetched no longer matches its pin (${problem}). ` +
          'The next job fetches again; if this repeats, check what else writes to RUNNER_TEMP during the job.'
      )
      return
    }
    const cache = await client()
    const scope: ArchiveScope = {
      dir: parent,
      only: STAGE[state.holds],
      maxBytes: MAX_ENTRY_BYTES,
      abandoned: false,
      debug: log.debug
    }
    // the library finds the path it saves relative to the working directory; post does nothing after this
    process.chdir(parent)
    const id = await quietRace(async () =>
      withTimeout(
        withinScope(scope, async () => cache.saveCache([STAGE[state.holds]], state.key)),
        state.timeout,
        `no answer within ${state.timeout}s`
      )
    )
    if (id > 0) log.info(`saved to the Actions cache as ${state.key}`)
  } finally {
    process.chdir(cwd)
    await fs.rm(parent, { recursive: true, force: true })
    await fs.rm(state.dir, { recursive: true, force: true })
  }
}

/** The library's line for a lost race to save a key, which it logs as info. */
const RACE = /^Failed to save: Unable to reserve cache with key .*another job may be creating this cache/

/** Runs work with the library's race line turned into a debug line. */
async function quietRace<T>(work: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    if (!RACE.test(text)) return write(chunk, ...rest)
    log.debug(`${text.trim()} (its entry holds the same content)`)
    return true
  }) as typeof process.stdout.write
  try {
    return await work()
  } finally {
    process.stdout.write = write
  }
}
