/**
 * What update-pins decides about upstream's signed provenance, with bundles and registries made here: the
 * signature itself is sigstore's to check (a stand-in verifier says whether it holds, and returns the signer
 * as sigstore does: the certificate's issuer and extensions, DER-encoded); what is tested is everything
 * decided around it. A bundle counts only when it verifies, its certificate is GitHub Actions' and names
 * tonistiigi/binfmt, and its signed statement names the very digest; the tarball bundles are the assets beside
 * the tarballs; the image's are referrers of the attestation manifests its index lists, all fetched by digest
 * and checked against it.
 */
import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import type { ApiRelease } from '../../scripts/ci/binfmt.mjs'
import {
  GITHUB_ISSUER,
  SIGSTORE_BUNDLE,
  UPSTREAM_REPOSITORY,
  checkSigned,
  provenanceAsset,
  sourceRepository,
  verifyImageProvenance,
  verifyTarballProvenance,
  type ImageRegistry,
  type Signer
} from '../../scripts/ci/provenance.mjs'
import { main } from '../../scripts/ci/update-pins.mjs'
import { captured, tempDir } from './helpers.js'
import * as fs from 'node:fs'
import * as path from 'node:path'

const hex = (s: string): string => createHash('sha256').update(s).digest('hex')
const der = (text: string): Uint8Array => {
  const body = Buffer.from(text)
  const len = body.length < 128 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length])
  return Buffer.concat([Buffer.from([0x0c]), len, body])
}
const REPO_OID = [1, 3, 6, 1, 4, 1, 57264, 1, 12]

/** A signer as sigstore returns it, for a certificate issued to a workflow of `repository`. */
const signer = (repository = UPSTREAM_REPOSITORY, issuer = GITHUB_ISSUER): Signer => ({
  identity: {
    subjectAlternativeName: 'https://github.com/docker/github-builder/.github/workflows/bake.yml@refs/tags/v1.6.0',
    extensions: { issuer },
    oids: [
      { oid: { id: [1, 3, 6, 1, 4, 1, 57264, 1, 8] }, value: der(issuer) },
      { oid: { id: REPO_OID }, value: der(repository) }
    ]
  }
})

/** A DSSE bundle whose in-toto statement names the subjects; `forge` marks one whose signature does not hold. */
const bundle = (subjects: { name: string; sha256: string }[], opts: { forge?: boolean; payloadType?: string } = {}): object => ({
  mediaType: SIGSTORE_BUNDLE,
  verificationMaterial: { forged: opts.forge ?? false },
  dsseEnvelope: {
    payloadType: opts.payloadType ?? 'application/vnd.in-toto+json',
    payload: Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: subjects.map(s => ({ name: s.name, digest: { sha256: s.sha256 } })),
        predicateType: 'https://slsa.dev/provenance/v1'
      })
    ).toString('base64'),
    signatures: [{ sig: 'c2ln' }]
  }
})

/** The stand-in of sigstore's verify: a forged bundle throws, as a bad signature does; others get `who`. */
const verifier =
  (who: Signer = signer()) =>
  async (b: unknown): Promise<Signer> => {
    if ((b as { verificationMaterial?: { forged?: boolean } }).verificationMaterial?.forged)
      throw new Error('signature verification failed')
    return who
  }

describe('a signed bundle', () => {
  const digest = hex('tarball')
  const good = bundle([{ name: 'qemu_v10.2.4_linux-amd64.tar.gz', sha256: digest }])

  it('counts when it verifies, its certificate is GitHub Actions and names upstream, and it signs the digest', async () => {
    expect(await checkSigned(good, { digest, what: 'x' }, verifier())).toEqual({
      repository: UPSTREAM_REPOSITORY,
      identity: expect.stringContaining('github-builder'),
      predicateType: 'https://slsa.dev/provenance/v1'
    })
  })
  it.each([
    [
      'whose signature does not hold',
      bundle([{ name: 'a', sha256: digest }], { forge: true }),
      verifier(),
      /does not verify: signature verification failed/
    ],
    [
      'signed for another repository',
      good,
      verifier(signer('https://github.com/someone/binfmt')),
      /names https:\/\/github\.com\/someone\/binfmt, not https:\/\/github\.com\/tonistiigi\/binfmt/
    ],
    [
      'signed for a fork with the same name below it',
      good,
      verifier(signer('https://github.com/tonistiigi/binfmt-fork')),
      /not https:\/\/github\.com\/tonistiigi\/binfmt$/
    ],
    [
      'whose certificate is not from GitHub Actions',
      good,
      verifier(signer(UPSTREAM_REPOSITORY, 'https://accounts.google.com')),
      /from https:\/\/accounts\.google\.com, not GitHub Actions/
    ],
    [
      'that signs other content',
      bundle([{ name: 'qemu_v10.2.4_linux-amd64.tar.gz', sha256: hex('other') }]),
      verifier(),
      /the signed statement names qemu_v10\.2\.4_linux-amd64\.tar\.gz sha256:.*, not sha256:/
    ],
    [
      'that signs no in-toto statement',
      bundle([{ name: 'a', sha256: digest }], { payloadType: 'text/plain' }),
      verifier(),
      /signs text\/plain, not an in-toto statement/
    ],
    ['without a DSSE envelope', { mediaType: SIGSTORE_BUNDLE, messageSignature: {} }, verifier(), /holds no DSSE envelope/]
  ])('does not count %s', async (_, b, verify, why) => {
    await expect(checkSigned(b, { digest, what: 'x' }, verify)).rejects.toThrow(why)
  })

  it("reads the certificate's repository from its DER extension, short or long", () => {
    expect(sourceRepository(signer())).toBe(UPSTREAM_REPOSITORY)
    const long = `https://github.com/${'a'.repeat(150)}`
    expect(sourceRepository(signer(long))).toBe(long)
    expect(sourceRepository({ identity: { oids: [] } })).toBeUndefined()
  })
})

describe('the tarballs of a release', () => {
  const DL = 'https://github.com/tonistiigi/binfmt/releases/download/deploy/v10.2.4-70'
  const tarballs = ['amd64', 'arm64'].map(arch => ({
    arch,
    name: `qemu_v10.2.4_linux-${arch}.tar.gz`,
    url: `${DL}/qemu_v10.2.4_linux-${arch}.tar.gz`,
    sha256: hex(arch)
  }))
  const release = (assets = tarballs.map(t => t.name.replace('.tar.gz', '.provenance.sigstore.json'))): ApiRelease =>
    ({
      tag_name: 'deploy/v10.2.4-70',
      assets: [
        ...tarballs.map(t => ({ name: t.name, browser_download_url: t.url })),
        ...assets.map(n => ({ name: n, browser_download_url: `${DL}/${n}` }))
      ]
    }) as unknown as ApiRelease
  /** One signed provenance for all tarballs, as upstream's build signs them, served at its bundle's URL. */
  const served = (b: object = bundle(tarballs.map(t => ({ name: t.name, sha256: t.sha256 })))) => {
    const asked: string[] = []
    const fetchImpl = async (url: string) => (asked.push(url), { ok: true, status: 200, text: async () => JSON.stringify(b) })
    return { fetchImpl, asked }
  }

  it('each have their bundle beside them, which signs their SHA-256 for upstream', async () => {
    const { fetchImpl, asked } = served()
    const r = await verifyTarballProvenance(release(), tarballs, { fetchImpl, verify: verifier() })
    expect(r.map(x => [x.arch, x.sha256, x.repository])).toEqual(tarballs.map(t => [t.arch, t.sha256, UPSTREAM_REPOSITORY]))
    expect(asked).toEqual(tarballs.map(t => t.url.replace('.tar.gz', '.provenance.sigstore.json')))
  })
  it('are refused when one has no bundle beside it', async () => {
    await expect(
      verifyTarballProvenance(release([tarballs[0].name.replace('.tar.gz', '.provenance.sigstore.json')]), tarballs, {
        ...served(),
        verify: verifier()
      })
    ).rejects.toThrow(
      'qemu_v10.2.4_linux-arm64.tar.gz: the release has no qemu_v10.2.4_linux-arm64.provenance.sigstore.json beside it'
    )
  })
  it('are refused when a bundle signs another tarball', async () => {
    const b = bundle([{ name: tarballs[0].name, sha256: tarballs[0].sha256 }])
    await expect(verifyTarballProvenance(release(), tarballs, { ...served(b), verify: verifier() })).rejects.toThrow(
      /qemu_v10\.2\.4_linux-arm64\.tar\.gz: the signed statement names/
    )
  })
  it('take the bundle only from where the tag says', () => {
    const r = release()
    r.assets!.find(a => a.name.endsWith('amd64.provenance.sigstore.json'))!.browser_download_url = 'https://evil.example/x.json'
    expect(() => provenanceAsset(r, tarballs[0])).toThrow(/its download URL is https:\/\/evil\.example\/x\.json, expected/)
  })
})

describe('the image', () => {
  const json = (o: object): Buffer => Buffer.from(JSON.stringify(o))
  const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
  /** An index with a manifest and an attestation manifest per platform, each attestation with a bundle referrer. */
  function registry(opts: { signed?: (attestation: string) => object; tamper?: string; noAttestationFor?: string } = {}) {
    const blobs = new Map<string, Buffer>()
    const referrers = new Map<string, object>()
    const put = (b: Buffer): string => (blobs.set(digestOf(b), b), digestOf(b))
    const manifests: object[] = []
    for (const platform of ['linux/amd64', 'linux/arm64', 'linux/s390x']) {
      const [os, architecture] = platform.split('/')
      const image = put(json({ schemaVersion: 2, platform }))
      manifests.push({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: image,
        size: 1,
        platform: { os, architecture }
      })
      if (opts.noAttestationFor === platform) continue
      const attestation = put(json({ schemaVersion: 2, attests: image }))
      manifests.push({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: attestation,
        size: 1,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': image }
      })
      const b = Buffer.from(
        JSON.stringify(
          opts.signed?.(attestation) ?? bundle([{ name: 'index.docker.io/tonistiigi/binfmt', sha256: attestation.slice(7) }])
        )
      )
      const layer = put(b)
      const bundleManifest = put(
        json({
          schemaVersion: 2,
          artifactType: SIGSTORE_BUNDLE,
          layers: [{ mediaType: SIGSTORE_BUNDLE, digest: layer, size: b.length }]
        })
      )
      referrers.set(attestation, { manifests: [{ digest: bundleManifest, artifactType: SIGSTORE_BUNDLE }] })
    }
    const index = put(json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }))
    if (opts.tamper) blobs.set(opts.tamper === 'index' ? index : opts.tamper, Buffer.from('{"other":"bytes"}'))
    const hub: ImageRegistry = {
      manifest: async ref => blobs.get(ref) ?? Promise.reject(new Error(`no ${ref}`)),
      blob: async d => blobs.get(d) ?? Promise.reject(new Error(`no ${d}`)),
      referrers: async d => referrers.get(d) ?? { manifests: [] }
    }
    return { hub, index }
  }
  const platforms = ['linux/amd64', 'linux/arm64']

  it('has signed provenance for each platform required, for upstream, over the attestation manifests its index lists', async () => {
    const { hub, index } = registry()
    const r = await verifyImageProvenance(index, { registry: hub, verify: verifier(), platforms })
    expect(r.map(x => [x.platform, x.repository])).toEqual(platforms.map(p => [p, UPSTREAM_REPOSITORY]))
  })
  it('is refused when the registry serves other bytes for the pinned digest', async () => {
    const { hub, index } = registry({ tamper: 'index' })
    await expect(verifyImageProvenance(index, { registry: hub, verify: verifier(), platforms })).rejects.toThrow(
      `the image index ${index}: the registry served other bytes`
    )
  })
  it('is refused when a platform has no attestation', async () => {
    const { hub, index } = registry({ noAttestationFor: 'linux/arm64' })
    await expect(verifyImageProvenance(index, { registry: hub, verify: verifier(), platforms })).rejects.toThrow(
      /has no attestation manifest for its linux\/arm64 manifest/
    )
  })
  it('is refused when the bundle signs another attestation', async () => {
    const { hub, index } = registry({ signed: () => bundle([{ name: 'x', sha256: hex('another') }]) })
    await expect(verifyImageProvenance(index, { registry: hub, verify: verifier(), platforms })).rejects.toThrow(
      /the signed statement names x sha256:/
    )
  })
  it("is refused when the bundle's certificate names another repository", async () => {
    const { hub, index } = registry()
    await expect(
      verifyImageProvenance(index, { registry: hub, verify: verifier(signer('https://github.com/x/y')), platforms })
    ).rejects.toThrow(/names https:\/\/github\.com\/x\/y/)
  })
  it('is refused for a platform the image lacks', async () => {
    const { hub, index } = registry()
    await expect(
      verifyImageProvenance(index, { registry: hub, verify: verifier(), platforms: ['linux/riscv64'] })
    ).rejects.toThrow(/has no manifest for linux\/riscv64/)
  })

  it('is what update-pins verify-image checks, for the digest image.json names', async () => {
    const { hub, index } = registry()
    const { dir, remove } = tempDir()
    fs.writeFileSync(path.join(dir, 'image.json'), JSON.stringify({ digest: index, manifests: [] }))
    const ok = await captured(() => main(['verify-image', '--dir', dir], { env: {}, registry: hub, verify: verifier() }))
    expect(ok.result).toBe(0)
    expect(ok.lines.join('\n')).toContain('linux/arm64: sha256:')
    const bad = main(['verify-image', '--dir', dir], {
      env: {},
      registry: hub,
      verify: verifier(signer('https://github.com/x/y'))
    })
    await expect(captured(() => bad)).rejects.toThrow(/names https:\/\/github\.com\/x\/y/)
    remove()
  })
})

describe("Docker Hub's API, as verify-image asks it", () => {
  it('takes an anonymous pull token, sends it, and finds referrers by the tag schema where the API has none', async () => {
    const asked: string[] = []
    const fetchImpl = async (url: string, init?: { headers?: Record<string, string> }) => {
      asked.push(`${url} ${init?.headers?.authorization ?? ''}`)
      if (url.startsWith('https://auth.docker.io/')) return { ok: true, status: 200, json: async () => ({ token: 'tok' }) }
      if (url.includes('/referrers/')) return { ok: false, status: 404 }
      return { ok: true, status: 200, json: async () => ({ manifests: [] }), arrayBuffer: async () => new ArrayBuffer(2) }
    }
    const { dockerHub } = await import('../../scripts/ci/provenance.mjs')
    const hub = dockerHub('tonistiigi/binfmt', fetchImpl)
    await hub.manifest(`sha256:${'a'.repeat(64)}`)
    expect(await hub.referrers(`sha256:${'b'.repeat(64)}`)).toEqual({ manifests: [] })
    expect(asked).toEqual([
      'https://auth.docker.io/token?service=registry.docker.io&scope=repository:tonistiigi/binfmt:pull ',
      `https://registry-1.docker.io/v2/tonistiigi/binfmt/manifests/sha256:${'a'.repeat(64)} Bearer tok`,
      `https://registry-1.docker.io/v2/tonistiigi/binfmt/referrers/sha256:${'b'.repeat(64)}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson Bearer tok`,
      `https://registry-1.docker.io/v2/tonistiigi/binfmt/manifests/sha256-${'b'.repeat(64)} Bearer tok`
    ])
  })
})
