/** Picks the source the inputs name; its checks run here, before anything on the host changes. */
import type { Engine } from '../engine/engine.js'
import { actionsCacheWanted } from './actions-cache/keys.js'
import { ActionsCache, restoreLimit } from './actions-cache/restore.js'
import { DOWNLOAD } from './download.js'
import { IMAGE } from './image.js'
import type { EmulatorSource, SourceEntry, SourceInputs } from './source.js'

/**
 * Every source, by the word the `source` input takes (listed in this order when it is wrong): a new one
 * is its own file exporting a SourceEntry, and its line here.
 */
export const SOURCES = {
  image: IMAGE,
  download: DOWNLOAD
} satisfies Record<string, SourceEntry>

export type SourceKind = keyof typeof SOURCES

export const SOURCE_KINDS = Object.keys(SOURCES) as SourceKind[]

export const isSourceKind = (word: string): word is SourceKind => Object.hasOwn(SOURCES, word)

export function createSource(inputs: SourceInputs & { source: string }, engine: Engine, workDir: string): EmulatorSource {
  // readInputs took it from SOURCE_KINDS
  if (!isSourceKind(inputs.source)) throw new Error(`there is no source ${inputs.source}`)
  const source = inputs.source
  // on a hosted runner, whose tool cache starts empty, the source asks the Actions cache first
  const actions = actionsCacheWanted(inputs.cacheImage)
    ? new ActionsCache(workDir, restoreLimit(inputs.timeout), inputs.timeout)
    : undefined
  return SOURCES[source].create({ inputs, engine, workDir, actions })
}
