/**
 * The emulators of an image over the registry's HTTP API, with no engine: `usr/bin/qemu-*` of the
 * host's platform, every byte checked from the image's digest down (registry/). On a hosted runner the
 * Actions cache is asked first: what it restores is the image's blobs, and they are used only if the
 * same pull, taking nothing but them, finds each one matching its digest from the pin down. Otherwise
 * the pull goes to the registry (or its mirror), and what it fetched is kept for post to save.
 */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as log from '../log.js'
import type { ActionsCache } from './actions-cache/restore.js'
import { MAX_ENTRY_BYTES } from './actions-cache/keys.js'
import { emulatorFor } from './emulators.js'
import { emulatorName, type Platform } from '../platform/platforms.js'
import type { RegistryClient } from './registry/index.js'

/** What the image source needs of a registry client. */
export type ImageRegistry = Pick<RegistryClient, 'resolve' | 'pull' | 'close'>

/** The image's emulators for those platforms (or all of them): which members a pull takes. */
export const emulatorMembers =
  (platforms: 'all' | readonly Platform[]) =>
  (member: string): boolean => {
    if (!/^usr\/bin\/[^/]+$/.test(member)) return false
    const p = emulatorFor(member.slice('usr/bin/'.length))
    return p !== undefined && (platforms === 'all' || platforms.includes(p))
  }

export interface Pulled {
  /** the directory the emulators are in */
  dir: string
  /** where the content came from */
  via: 'Actions cache' | 'registry' | 'mirror'
}

const emulatorsOf = async (out: string): Promise<string> => {
  const dir = path.join(out, 'usr', 'bin')
  await fs.mkdir(dir, { recursive: true })
  return dir
}

/**
 * Pulls ref (pinned by digest pin, hex) into a new directory under workDir. A RegistryError means the
 * registry could not be used (the caller may try the engine); an IntegrityError that the registry
 * served other content than the pin names.
 */
export async function pullEmulators(
  ref: string,
  pin: string,
  registry: ImageRegistry,
  workDir: string,
  actions?: ActionsCache,
  platforms: 'all' | readonly Platform[] = 'all'
): Promise<Pulled> {
  const wanted = emulatorMembers(platforms)
  // each platform's own name: once a layer gave them all, nothing later in it can be better
  const enough = platforms === 'all' ? undefined : platforms.map(p => `usr/bin/${emulatorName(p)}`)
  const restored = await actions?.restore('image', pin)
  if (restored) {
    const out = await fs.mkdtemp(path.join(workDir, 'image-'))
    try {
      // a blob whose restored bytes hashed to its name as they were written is not read again to check it
      const checked = new Set(
        [...restored.sha256].filter(([name, hex]) => name === `sha256/${hex}`).map(([, hex]) => `sha256:${hex}`)
      )
      await registry.pull(ref, {
        wanted,
        enough,
        dir: out,
        maxBytes: MAX_ENTRY_BYTES,
        store: restored.dir,
        checked,
        offline: true
      })
      log.info(`the image's blobs came from the Actions cache, each matching its digest from sha256:${pin} down`)
      return { dir: await emulatorsOf(out), via: 'Actions cache' }
    } catch (err) {
      await fs.rm(out, { recursive: true, force: true })
      actions?.refuse(`it does not hold the image sha256:${pin} names (${(err as Error).message})`)
    } finally {
      await fs.rm(restored.dir, { recursive: true, force: true })
    }
  }
  const store = await actions?.keepDir()
  const out = await fs.mkdtemp(path.join(workDir, 'image-'))
  try {
    const r = await registry.pull(ref, { wanted, enough, dir: out, maxBytes: MAX_ENTRY_BYTES, store })
    log.info(`fetched ${ref} from ${r.from === 'mirror' ? 'the mirror' : 'its registry'}, every blob matching its digest`)
    if (store) actions?.keep(store)
    return { dir: await emulatorsOf(out), via: r.from === 'mirror' ? 'mirror' : 'registry' }
  } catch (err) {
    await fs.rm(out, { recursive: true, force: true })
    if (store) await fs.rm(store, { recursive: true, force: true })
    throw err
  }
}
