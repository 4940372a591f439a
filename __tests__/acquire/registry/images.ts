/**
 * Test images in the shape of tonistiigi/binfmt: an index with one manifest per platform, each with two
 * gzip layers holding `usr/bin/binfmt` and a `usr/bin/qemu-<cpu>` for every platform but its own
 * (small text files: what is checked is which bytes arrive where, not that they run).
 */
import { createHash } from 'node:crypto'
import { PLATFORMS } from '../../../src/platform/platforms.js'
import { MEDIA } from '../../../src/acquire/registry/manifest.js'
import { tarGz } from './tarball.js'

export interface Blob {
  digest: string
  bytes: Buffer
  mediaType: string
}

export const blob = (bytes: Buffer | string, mediaType: string): Blob => {
  const b = Buffer.from(bytes)
  return { digest: `sha256:${createHash('sha256').update(b).digest('hex')}`, bytes: b, mediaType }
}

export const GZIP_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'

export interface PlatformImage {
  platform: string
  manifest: Blob
  config: Blob
  layers: Blob[]
  /** member path → content */
  files: Record<string, string | Buffer>
}

export interface TestImage {
  index: Blob
  images: PlatformImage[]
  /** every blob the registry must hold: configs, layers, manifests, the index */
  all: Blob[]
}

const descriptor = (b: Blob, extra: object = {}): object => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.bytes.length,
  ...extra
})

/** The files of the image for platform: every emulator but the platform's own, and the installer. */
export function filesFor(platform: string, seed: string): Record<string, string> {
  const arch = platform.split('/')[1]
  const files: Record<string, string> = { 'usr/bin/binfmt': `installer for ${platform} ${seed}\n` }
  for (const p of PLATFORMS) if (p.arch !== arch) files[`usr/bin/qemu-${p.cpu}`] = `qemu-${p.cpu} built for ${platform} ${seed}\n`
  return files
}

/** Files an image holds for a platform: the default is text standing in for emulators. */
export type FilesFor = (platform: string, seed: string) => Record<string, string | Buffer>

export function platformImage(
  platform: string,
  seed: string,
  layerType = GZIP_LAYER,
  files: Record<string, string | Buffer> = filesFor(platform, seed)
): PlatformImage {
  const [os, architecture, variant] = platform.split('/')
  const names = Object.keys(files)
  const half = Math.ceil(names.length / 2)
  const layers = [names.slice(0, half), names.slice(half)].map(part =>
    blob(
      tarGz([{ name: 'usr/', type: '5' }, { name: 'usr/bin/', type: '5' }, ...part.map(n => ({ name: n, body: files[n] }))]),
      layerType
    )
  )
  const config = blob(
    JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: [] }, config: {} }),
    'application/vnd.oci.image.config.v1+json'
  )
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: descriptor(config),
      layers: layers.map(l => descriptor(l))
    }),
    MEDIA.ociManifest
  )
  return { platform, manifest, config, layers, files }
}

/** A multi-platform image, with an attestation manifest (`unknown/unknown`) as buildx adds one. */
export function testImage(platforms: readonly string[], seed = 'v1', files: FilesFor = filesFor): TestImage {
  const images = platforms.map(p => platformImage(p, seed, GZIP_LAYER, files(p, seed)))
  const attestation = platformImage('unknown/unknown', seed)
  const index = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: [
        ...images.map(i => {
          const [os, architecture, variant] = i.platform.split('/')
          return descriptor(i.manifest, { platform: { os, architecture, ...(variant ? { variant } : {}) } })
        }),
        descriptor(attestation.manifest, { platform: { os: 'unknown', architecture: 'unknown' } })
      ]
    }),
    MEDIA.ociIndex
  )
  const all = [...images, attestation].flatMap(i => [i.config, ...i.layers, i.manifest])
  return { index, images, all: [...all, index] }
}
