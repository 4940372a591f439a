/** Which manifest of an index serves a platform, and which documents are read at all. */
import { describe, expect, it } from '@jest/globals'
import { hostPlatform } from '../../../src/platform/host.js'
import { RegistryError } from '../../../src/acquire/registry/errors.js'
import { MEDIA, chooseManifest, parseDocument, platformSpec, type Descriptor } from '../../../src/acquire/registry/manifest.js'
import { PLATFORMS } from '../../../src/platform/platforms.js'

let n = 0
const d = (platform: string, mediaType: string = MEDIA.ociManifest): Descriptor => {
  const [os, architecture, variant] = platform.split('/')
  return { mediaType, digest: `sha256:${(++n).toString(16).padStart(64, '0')}`, size: 1, platform: { os, architecture, variant } }
}
const pick = (manifests: Descriptor[], want: string): string | undefined => {
  const m = chooseManifest(manifests, platformSpec(want))
  return m?.platform && [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')
}

describe('chooseManifest', () => {
  // the shape of tonistiigi/binfmt's index, attestations included
  const binfmt = [
    'linux/amd64',
    'linux/arm64',
    'linux/riscv64',
    'linux/ppc64le',
    'linux/s390x',
    'linux/386',
    'linux/mips64le',
    'linux/mips64',
    'linux/loong64',
    'linux/arm/v7',
    'linux/arm/v6',
    'unknown/unknown',
    'unknown/unknown'
  ].map(p => d(p))

  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/arm64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm/v7', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/arm/v5', undefined],
    ['linux/s390x', 'linux/s390x'],
    ['windows/amd64', undefined]
  ])('%s gets %s', (want, got) => {
    expect(pick(binfmt, want)).toBe(got)
  })

  it("has a manifest for this host's own platform word", () => {
    expect(pick(binfmt, hostPlatform().platforms[0])).toBe(hostPlatform().platforms[0])
  })

  it.each(PLATFORMS.flatMap(p => p.platforms))('the platform table word %s finds itself', word => {
    expect(pick(binfmt, word)).toBe(word)
  })

  it('takes a variant written out as the same as none (arm64/v8, amd64/v1, arm/v7)', () => {
    expect(pick([d('linux/arm64/v8')], 'linux/arm64')).toBe('linux/arm64/v8')
    expect(pick([d('linux/amd64/v1')], 'linux/amd64')).toBe('linux/amd64/v1')
    expect(pick([d('linux/arm')], 'linux/arm/v7')).toBe('linux/arm')
  })

  it('takes an older arm variant the CPU runs, newest first, and never a newer one', () => {
    expect(pick([d('linux/arm/v5'), d('linux/arm/v6')], 'linux/arm/v7')).toBe('linux/arm/v6')
    expect(pick([d('linux/arm/v7')], 'linux/arm/v6')).toBeUndefined()
  })

  it('never takes amd64/v3 for a plain amd64 host, nor another architecture', () => {
    expect(pick([d('linux/amd64/v3'), d('linux/386')], 'linux/amd64')).toBeUndefined()
  })

  it('passes over a nested index', () => {
    expect(pick([d('linux/amd64', MEDIA.ociIndex)], 'linux/amd64')).toBeUndefined()
  })
})

describe('parseDocument', () => {
  const json = (o: object): Buffer => Buffer.from(JSON.stringify(o))
  const digest = `sha256:${'a'.repeat(64)}`

  it('reads an index by its mediaType, or by its Content-Type when the JSON has none', () => {
    const manifests = [{ mediaType: MEDIA.dockerManifest, digest, size: 3, platform: { os: 'linux', architecture: 'arm64' } }]
    expect(parseDocument(json({ schemaVersion: 2, mediaType: MEDIA.dockerList, manifests }), undefined, 'x')).toMatchObject({
      kind: 'index'
    })
    expect(parseDocument(json({ schemaVersion: 2, manifests }), `${MEDIA.ociIndex}; charset=utf-8`, 'x').kind).toBe('index')
  })

  it('reads a manifest', () => {
    const doc = parseDocument(
      json({
        schemaVersion: 2,
        mediaType: MEDIA.dockerManifest,
        config: { digest, size: 1 },
        layers: [{ digest, size: 2, mediaType: 'l' }]
      }),
      undefined,
      'x'
    )
    expect(doc).toEqual({
      kind: 'manifest',
      config: { digest, size: 1, mediaType: '', platform: undefined },
      layers: [{ digest, size: 2, mediaType: 'l', platform: undefined }]
    })
  })

  it.each([
    ['schema 1', { schemaVersion: 1, name: 'x', fsLayers: [] }, /schema 1 manifest/],
    [
      'another type',
      { schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.config.v1+json' },
      /of a type this client does not read/
    ],
    [
      'a sha512 digest',
      { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ digest: `sha512:${'a'.repeat(128)}`, size: 1 }] },
      /digest this client does not check/
    ],
    ['a negative size', { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ digest, size: -1 }] }, /no valid size/]
  ])('refuses %s', (_, doc, message) => {
    expect(() => parseDocument(json(doc), undefined, 'x')).toThrow(RegistryError)
    expect(() => parseDocument(json(doc), undefined, 'x')).toThrow(message)
  })

  it('refuses text that is not JSON', () => {
    expect(() => parseDocument(Buffer.from('<html>'), undefined, 'the page')).toThrow('the page is not JSON')
  })
})
