/**
 * The image's JSON documents, read only after their bytes matched their digest: an index (OCI image
 * index, Docker manifest list) names one manifest per platform; a manifest (OCI, Docker v2) names a
 * config and the layers. Anything else (schema 1, nested indexes, foreign layers) is refused.
 */
import { RegistryError, shown } from './errors.js'

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const

/** What a manifest request accepts, in the order preferred. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ')

const INDEXES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerList]
const MANIFESTS: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest]

/** Layers this client can extract: tar, gzip-compressed or not. zstd and the rest are refused. */
export const LAYER_TYPES: readonly string[] = [
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar'
]

export const DIGEST = /^sha256:[a-f0-9]{64}$/

export interface PlatformSpec {
  os: string
  architecture: string
  variant?: string
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: PlatformSpec
}

export type Document = { kind: 'index'; manifests: Descriptor[] } | { kind: 'manifest'; config: Descriptor; layers: Descriptor[] }

function descriptor(d: unknown, where: string): Descriptor {
  const o = (d ?? {}) as Record<string, unknown>
  if (typeof o.digest !== 'string' || !DIGEST.test(o.digest)) {
    throw new RegistryError(
      'unsupported',
      `${where} names content by a digest this client does not check: ${shown(String(o.digest), 80)}`
    )
  }
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
    throw new RegistryError('refused', `${where} gives no valid size for ${o.digest}`)
  }
  const p = o.platform as Record<string, unknown> | undefined
  const platform =
    p && typeof p.os === 'string' && typeof p.architecture === 'string'
      ? { os: p.os, architecture: p.architecture, variant: typeof p.variant === 'string' ? p.variant : undefined }
      : undefined
  return { mediaType: typeof o.mediaType === 'string' ? o.mediaType : '', digest: o.digest, size: o.size, platform }
}

/** Reads an index or manifest; contentType is the registry's Content-Type, used when the JSON has no mediaType. */
export function parseDocument(body: Buffer, contentType: string | undefined, what: string): Document {
  let json: Record<string, unknown>
  try {
    json = JSON.parse(body.toString('utf8')) as Record<string, unknown>
  } catch {
    throw new RegistryError('refused', `${what} is not JSON`)
  }
  const type = typeof json.mediaType === 'string' ? json.mediaType : (contentType ?? '').split(';')[0].trim()
  if (json.schemaVersion !== 2) {
    throw new RegistryError(
      'unsupported',
      `${what} is a schema ${shown(String(json.schemaVersion), 20)} manifest; only schema 2 is read`
    )
  }
  if (INDEXES.includes(type) || (type === '' && Array.isArray(json.manifests))) {
    if (!Array.isArray(json.manifests)) throw new RegistryError('refused', `${what} is an index without manifests`)
    return { kind: 'index', manifests: json.manifests.map((d, i) => descriptor(d, `${what} (manifest ${i + 1})`)) }
  }
  if (MANIFESTS.includes(type) || (type === '' && Array.isArray(json.layers))) {
    if (!Array.isArray(json.layers)) throw new RegistryError('refused', `${what} is a manifest without layers`)
    return {
      kind: 'manifest',
      config: descriptor(json.config, `${what} (config)`),
      layers: json.layers.map((d, i) => descriptor(d, `${what} (layer ${i + 1})`))
    }
  }
  throw new RegistryError('unsupported', `${what} is of a type this client does not read: ${shown(type || 'none given', 80)}`)
}

/** `linux/arm/v7` as its parts. */
export function platformSpec(platform: string): PlatformSpec {
  const [os, architecture, variant] = platform.split('/')
  return { os, architecture, variant }
}

/** The variant an image means when it names none (as the engine's platform matcher has it). */
const DEFAULT_VARIANT: Readonly<Record<string, string>> = { arm64: 'v8', arm: 'v7', amd64: 'v1' }

const variantOf = (p: PlatformSpec): string => p.variant || DEFAULT_VARIANT[p.architecture] || ''

/**
 * The platforms that serve `want`, best first: itself, then for 32-bit arm the older variants its CPU
 * also runs (v7 runs v6 and v5), as the engine picks them.
 */
export function acceptable(want: PlatformSpec): PlatformSpec[] {
  const variant = variantOf(want)
  const n = /^v(\d+)$/.exec(variant)
  if (want.architecture !== 'arm' || !n) return [{ ...want, variant }]
  return Array.from({ length: Math.max(1, Number(n[1]) - 4) }, (_, i) => ({ ...want, variant: `v${Number(n[1]) - i}` }))
}

export const samePlatform = (a: PlatformSpec, b: PlatformSpec): boolean =>
  a.os === b.os && a.architecture === b.architecture && variantOf(a) === variantOf(b)

/** The manifest of an index for the platform, by the order of acceptable(). */
export function chooseManifest(manifests: readonly Descriptor[], want: PlatformSpec): Descriptor | undefined {
  for (const p of acceptable(want)) {
    const d = manifests.find(
      m => m.platform && MANIFESTS.includes(m.mediaType || MEDIA.ociManifest) && samePlatform(m.platform, p)
    )
    if (d) return d
  }
  return undefined
}

/** The platform an image config declares. */
export function configPlatform(body: Buffer): PlatformSpec | undefined {
  try {
    const c = JSON.parse(body.toString('utf8')) as Record<string, unknown>
    if (typeof c.os !== 'string' || typeof c.architecture !== 'string') return undefined
    return { os: c.os, architecture: c.architecture, variant: typeof c.variant === 'string' ? c.variant : undefined }
  } catch {
    return undefined
  }
}

export const describePlatform = (p: PlatformSpec): string =>
  shown([p.os, p.architecture, p.variant].filter(Boolean).join('/'), 60)
