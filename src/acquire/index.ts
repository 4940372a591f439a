/** Picks the source the inputs name; its checks run here, before anything on the host changes. */
import type { Docker } from '../engine/docker.js'
import type { Inputs } from '../inputs/inputs.js'
import { DownloadSource, resolveDownload } from './download.js'
import { ImageSource } from './image.js'
import type { EmulatorSource } from './source.js'

export function createSource(inputs: Inputs, docker: Docker, workDir: string): EmulatorSource {
  if (inputs.source === 'download') {
    const target = resolveDownload(inputs.downloadUrl, inputs.downloadSha256, process.arch)
    return new DownloadSource(target, inputs.cacheImage, workDir, inputs.timeout)
  }
  return new ImageSource(inputs.image, docker, inputs.cacheImage, workDir)
}
