/**
 * One entry of the runner's tool cache, as its reader (read.ts) and its writer (publish.ts) both see
 * it: where it lives (the version that carries the key) and the metadata file that says what is inside.
 */
import type * as ToolCacheClient from '@actions/tool-cache'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'

export const META = 'setup-qemu.json'

export interface Meta {
  key: string
  version?: string
  /** where the files came from, redacted: the cache is shared and outlives the job */
  from: string
  /** true when every emulator the source has is in the entry */
  complete: boolean
  /** file sizes, by name in sorted order (earlier versions of this action compare them as JSON) */
  files: Record<string, number>
  /** each file's SHA-256 when it was stored: what a run registers is checked against it */
  sha256?: Record<string, string>
}

/** tool-cache wants a semver; a prerelease tag carries the key (the leading letter keeps it valid). */
export const cacheVersion = (key: string): string => `0.0.0-k${key.replace(/[^a-zA-Z0-9]/g, '').slice(0, 64)}`

/** The toolkit's tool cache, loaded when first asked for: it brings an HTTP client that a run with nothing to fetch never uses. */
export const toolCache = (): Promise<typeof ToolCacheClient> => import('@actions/tool-cache')

export const readMeta = async (dir: string): Promise<Meta> => JSON.parse(await fs.readFile(path.join(dir, META), 'utf8')) as Meta
