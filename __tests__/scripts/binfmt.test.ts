import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import {
  compareVersions,
  deployVersion,
  imageTag,
  latestDeployRelease,
  parseImageDigest,
  releaseTarballs,
  urlTemplate,
  verifyTarballs,
  type ApiRelease,
  type Tarball
} from '../../scripts/ci/binfmt.mjs'
import { fixture } from './helpers.js'

// the sample answer of GET /repos/tonistiigi/binfmt/releases (its digests are invented)
const releases = JSON.parse(fixture('binfmt-releases.sample.json')) as ApiRelease[]
const byTag = (tag: string): ApiRelease => structuredClone(releases.find(r => r.tag_name === tag)!)

describe('deploy releases', () => {
  it('are the deploy/vX.Y.Z-N tags', () => {
    expect(deployVersion('deploy/v10.2.3-68')).toBe('10.2.3-68')
    for (const other of ['desktop/v10.2.3-67', 'buildkit/v10.2.4-69', 'v10.2.3-68', 'deploy/v10.2.3', 'deploy/v10.2.3-68-rc1'])
      expect(deployVersion(other)).toBeUndefined()
  })

  it('compare by QEMU version, then build number', () => {
    expect(compareVersions('10.2.4-70', '10.2.3-68')).toBeGreaterThan(0)
    expect(compareVersions('10.10.0-1', '10.9.9-99')).toBeGreaterThan(0)
    expect(compareVersions('10.2.3-69', '10.2.3-68')).toBeGreaterThan(0)
    expect(compareVersions('9.2.2-52', '10.0.4-56')).toBeLessThan(0)
    expect(compareVersions('10.2.3-68', '10.2.3-68')).toBe(0)
    expect(() => compareVersions('10.2', '10.2.3-68')).toThrow('not a QEMU build version')
  })

  it('the newest is the highest deploy release that is neither a draft nor a pre-release', () => {
    expect(latestDeployRelease(releases)?.version).toBe('10.2.4-70')
    expect(latestDeployRelease(releases, { includePrereleases: true })?.version).toBe('10.2.5-74')
    expect(latestDeployRelease([...releases].reverse())?.version).toBe('10.2.4-70')
    expect(latestDeployRelease(releases.filter(r => !r.tag_name.startsWith('deploy/')))).toBeUndefined()
    expect(() => latestDeployRelease({ message: 'API rate limit exceeded' })).toThrow('not a list')
  })

  it('the image of a build is tagged qemu-vX.Y.Z-N', () => {
    expect(imageTag('10.2.4-70')).toBe('docker.io/tonistiigi/binfmt:qemu-v10.2.4-70')
  })
})

describe('the tarballs of a release', () => {
  it('are the qemu_vX.Y.Z_linux-<arch>.tar.gz assets, with the SHA-256 of their digest, amd64 and arm64 first', () => {
    const tarballs = releaseTarballs(byTag('deploy/v10.2.4-70'))
    expect(tarballs.map(t => t.arch)).toEqual(['amd64', 'arm64', 'ppc64le', 'riscv64', 's390x'])
    const amd64 = byTag('deploy/v10.2.4-70').assets!.find(a => a.name === 'qemu_v10.2.4_linux-amd64.tar.gz')!
    expect(tarballs[0]).toEqual({
      arch: 'amd64',
      name: 'qemu_v10.2.4_linux-amd64.tar.gz',
      url: 'https://github.com/tonistiigi/binfmt/releases/download/deploy/v10.2.4-70/qemu_v10.2.4_linux-amd64.tar.gz',
      sha256: amd64.digest!.slice('sha256:'.length)
    })
    expect(releaseTarballs(byTag('deploy/v10.2.3-68')).map(t => t.arch)).toEqual([
      'amd64',
      'arm64',
      '386',
      'arm-v7',
      'ppc64le',
      'riscv64',
      's390x'
    ])
  })

  it('give the URL template the source holds, checked against every asset', () => {
    expect(urlTemplate(byTag('deploy/v10.2.4-70'))).toBe(
      'https://github.com/tonistiigi/binfmt/releases/download/deploy/v{version}/qemu_v10.2.4_linux-{arch}.tar.gz'
    )
  })

  it('refuse an asset without a digest, at another URL, or a release without amd64 or arm64', () => {
    expect(() => releaseTarballs(byTag('deploy/v9.2.2-52'))).toThrow('the API gives no sha256 digest')
    const moved = byTag('deploy/v10.2.4-70')
    moved.assets![0].browser_download_url = 'https://example.com/qemu_v10.2.4_linux-amd64.tar.gz'
    expect(() => releaseTarballs(moved)).toThrow(
      'expected https://github.com/tonistiigi/binfmt/releases/download/deploy/v10.2.4-70/'
    )
    const noArm = byTag('deploy/v10.2.4-70')
    noArm.assets = noArm.assets!.filter(a => !a.name.includes('arm64'))
    expect(() => releaseTarballs(noArm)).toThrow('has no tarball for arm64')
    expect(() => releaseTarballs(byTag('desktop/v10.2.5-73'))).toThrow('not a deploy release')
  })
})

describe('image digests from the registry', () => {
  it('come from imagetools inspect (an index, with its platforms) or crane digest', () => {
    const index = fixture('imagetools-binfmt.sample.json')
    expect(parseImageDigest(index)).toEqual({
      digest: JSON.parse(index).digest,
      platforms: ['linux/amd64', 'linux/arm64', 'linux/ppc64le', 'linux/riscv64', 'linux/s390x']
    })
    const busybox = parseImageDigest(fixture('imagetools-busybox.sample.json'))
    expect(busybox.platforms).toContain('linux/arm64/v8')
    const plain = `sha256:${'ab'.repeat(32)}`
    expect(parseImageDigest(`${plain}\n`)).toEqual({ digest: plain, platforms: [] })
  })

  it('refuse anything without a sha256 digest', () => {
    expect(() => parseImageDigest('ERROR: docker.io/tonistiigi/binfmt:qemu-v99: not found')).toThrow('no image digest')
    expect(() => parseImageDigest('{"mediaType":"x","digest":"sha512:abc"}')).toThrow('no sha256 digest')
  })
})

describe('verifyTarballs', () => {
  const body = (text: string) => ({
    async *[Symbol.asyncIterator]() {
      yield new TextEncoder().encode(text.slice(0, 3))
      yield new TextEncoder().encode(text.slice(3))
    }
  })
  const tarball = (arch: string, content: string): Tarball => ({
    arch,
    name: `qemu_v1.0.0_linux-${arch}.tar.gz`,
    url: `https://example.com/${arch}`,
    sha256: createHash('sha256').update(content).digest('hex')
  })

  it('downloads each tarball and checks it against the published digest', async () => {
    const files: Record<string, string> = {
      'https://example.com/amd64': 'amd64 bytes',
      'https://example.com/arm64': 'arm64 bytes'
    }
    const fetched: string[] = []
    const fetchImpl = async (url: string) => {
      fetched.push(url)
      return { ok: true, status: 200, body: body(files[url]) }
    }
    const list = [tarball('amd64', 'amd64 bytes'), tarball('arm64', 'arm64 bytes')]
    await expect(verifyTarballs(list, fetchImpl)).resolves.toEqual(list.map(t => ({ name: t.name, ok: true, sha256: t.sha256 })))
    expect(fetched).toEqual(['https://example.com/amd64', 'https://example.com/arm64'])
  })

  it('fails on a mismatch or a failed download', async () => {
    const wrong = async () => ({ ok: true, status: 200, body: body('other bytes') })
    await expect(verifyTarballs([tarball('amd64', 'amd64 bytes')], wrong)).rejects.toThrow('the download is')
    const missing = async () => ({ ok: false, status: 404, body: body('') })
    await expect(verifyTarballs([tarball('amd64', 'x')], missing)).rejects.toThrow('failed with HTTP 404')
  })
})
