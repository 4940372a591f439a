import { describe, expect, it } from '@jest/globals'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cacheVersion } from '../src/acquire/cache.js'
import { checkChecksum, resolveDownload, sha256File } from '../src/acquire/download.js'
import { emulatorFor, selectMembers } from '../src/acquire/emulators.js'
import { DEFAULT_URL, expandUrl, knownChecksum, tarballArch } from '../src/acquire/releases.js'
import { byArch } from '../src/platforms.js'

const PINNED_AMD64 = '8e7d8f4c0c7809fc3fea0085199fd6b16f671e7c73d9bf6bec711e1cb535920a'

describe('download target', () => {
  it('fills {version} and {arch}', () => {
    expect(expandUrl(DEFAULT_URL, '10.2.3-68', 'amd64')).toBe(
      'https://github.com/tonistiigi/binfmt/releases/download/deploy/v10.2.3-68/qemu_v10.2.3_linux-amd64.tar.gz'
    )
    expect(expandUrl('https://m.example/{version}/{arch}/{arch}.tgz', '1', 'arm64')).toBe('https://m.example/1/arm64/arm64.tgz')
  })

  it('uses the known checksum for the default tarball on amd64', () => {
    expect(resolveDownload('', '', 'x64')).toEqual({
      url: 'https://github.com/tonistiigi/binfmt/releases/download/deploy/v10.2.3-68/qemu_v10.2.3_linux-amd64.tar.gz',
      sha256: PINNED_AMD64
    })
    expect(knownChecksum('10.2.3-68', 'amd64')).toBe(PINNED_AMD64)
    expect(tarballArch('arm')).toBe('arm-v7')
  })

  it('refuses anything it could not verify, naming both ways out', () => {
    expect(() => resolveDownload('', '', 'arm64')).toThrow(/no pinned checksum is known .* on arm64 hosts.*download-sha256.*source: image/)
    expect(() => resolveDownload('https://mirror.example/q.tar.gz', '', 'x64')).toThrow(/must be pinned by its checksum.*download-sha256.*source: image/)
    expect(resolveDownload('https://mirror.example/{arch}.tar.gz', 'ab'.repeat(32), 'arm64')).toEqual({
      url: 'https://mirror.example/arm64.tar.gz', sha256: 'ab'.repeat(32)
    })
  })
})

describe('checksums', () => {
  it('hashes a file and compares without regard to case', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sq-'))
    await writeFile(join(dir, 'f'), 'abc')
    const sum = await sha256File(join(dir, 'f'))
    expect(sum).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(() => checkChecksum(sum, sum.toUpperCase(), 'u')).not.toThrow()
    expect(() => checkChecksum(sum, 'ff'.repeat(32), 'https://x/y')).toThrow(
      new RegExp(`checksum mismatch for https://x/y: expected sha256 ${'ff'.repeat(32)}, got ${sum}`)
    )
  })
})

describe('archive entries', () => {
  const listing = ['./', './qemu-aarch64', 'qemu-arm-static', 'qemu-s390x', 'qemu-armeb', 'dir/qemu-riscv64', '../qemu-ppc64le', 'qemu-x86_64', 'binfmt', '']

  it('recognises flat emulator names, with or without -static', () => {
    expect(emulatorFor('qemu-arm-static')).toBe(byArch('arm'))
    expect(emulatorFor('./qemu-aarch64')).toBe(byArch('arm64'))
    expect(emulatorFor('qemu-armeb')).toBeUndefined()
    expect(emulatorFor('dir/qemu-riscv64')).toBeUndefined()
  })

  it('extracts only what was asked for, and nothing from outside the top level', () => {
    expect(selectMembers(listing, [byArch('arm'), byArch('s390x')])).toEqual(['qemu-arm-static', 'qemu-s390x'])
    expect(selectMembers(listing, 'all')).toEqual(['./qemu-aarch64', 'qemu-arm-static', 'qemu-s390x', 'qemu-x86_64'])
    expect(selectMembers(listing, [byArch('riscv64')])).toEqual([])
  })

  it('keys the cache with a valid semver carrying the key', () => {
    expect(cacheVersion('0'.repeat(64))).toBe(`0.0.0-k${'0'.repeat(64)}`)
  })
})
