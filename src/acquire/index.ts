/** Picks the source the inputs name; its checks run here, before anything on the host changes. */
import type { Engine } from '../engine/engine.js'
import type { Inputs } from '../inputs/inputs.js'
import { actionsCacheWanted } from './actions-cache/keys.js'
import { ActionsCache, restoreLimit } from './actions-cache/restore.js'
import { DownloadSource, resolveDownload } from './download.js'
import { ImageSource } from './image.js'
import type { EmulatorSource } from './source.js'

export function createSource(inputs: Inputs, engine: Engine, workDir: string): EmulatorSource {
  // on a hosted runner, whose tool cache starts empty, the source asks the Actions cache first
  const actions = actionsCacheWanted(inputs.cacheImage)
    ? new ActionsCache(workDir, restoreLimit(inputs.timeout), inputs.timeout)
    : undefined
  if (inputs.source === 'download') {
    const target = resolveDownload(inputs.downloadUrl, inputs.downloadSha256, process.arch)
    return new DownloadSource(target, inputs.cacheImage, workDir, inputs.timeout, actions)
  }
  return new ImageSource(inputs.image, engine, {
    useCache: inputs.cacheImage,
    workDir,
    timeout: inputs.timeout,
    mirror: inputs.registryMirror || undefined,
    actions
  })
}
