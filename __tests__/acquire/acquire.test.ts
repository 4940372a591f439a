import { describe, expect, it } from '@jest/globals'
import { chmod, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cacheVersion } from '../../src/acquire/tool-cache/entry.js'
import { checkChecksum, resolveDownload, sha256File } from '../../src/acquire/download.js'
import { elfProblem, hostPlatform } from '../../src/platform/host.js'
import { emulatorFor, emulatorsIn, keepOnlyEmulators, selectMembers } from '../../src/acquire/emulators.js'
import { redactUrl } from '../../src/acquire/redact.js'
import { DEFAULT_URL, expandUrl, knownChecksum } from '../../src/acquire/releases.js'
import { fromNodeArch, tarballArch } from '../../src/platform/arch.js'
import { PLATFORMS, byArch, type Platform } from '../../src/platform/platforms.js'
import { buildProbe } from '../../src/platform/elf.js'

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
    expect(() => resolveDownload('', '', 'arm64')).toThrow(
      /no pinned checksum is known .* on arm64 hosts.*download-sha256.*source: image/
    )
    expect(() => resolveDownload('https://mirror.example/q.tar.gz', '', 'x64')).toThrow(
      /must be pinned by its checksum.*download-sha256.*source: image/
    )
    expect(resolveDownload('https://mirror.example/{arch}.tar.gz', 'ab'.repeat(32), 'arm64')).toEqual({
      url: 'https://mirror.example/arm64.tar.gz',
      sha256: 'ab'.repeat(32)
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
  const listing = [
    './',
    './qemu-aarch64',
    'qemu-arm-static',
    'qemu-s390x',
    'qemu-armeb',
    'dir/qemu-riscv64',
    '../qemu-ppc64le',
    'qemu-x86_64',
    'binfmt',
    ''
  ]

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

describe('duplicate archive members', () => {
  it('names each emulator once: the same member twice, `./qemu-x` and `qemu-x`, `-static` and plain', () => {
    expect(selectMembers(['qemu-aarch64', 'qemu-s390x', 'qemu-aarch64'], 'all')).toEqual(['qemu-aarch64', 'qemu-s390x'])
    // whatever the order in the archive, the same one is taken
    for (const names of [
      ['./qemu-arm', 'qemu-arm'],
      ['qemu-arm', './qemu-arm']
    ])
      expect(selectMembers(names, 'all')).toEqual(['qemu-arm'])
    for (const names of [
      ['qemu-arm-static', 'qemu-arm'],
      ['qemu-arm', 'qemu-arm-static']
    ])
      expect(selectMembers(names, 'all')).toEqual(['qemu-arm'])
    expect(selectMembers(['./qemu-arm-static', 'qemu-arm-static'], [byArch('arm')])).toEqual(['qemu-arm-static'])
  })

  it('keeps one file per emulator in a directory, the plain name first, whatever order the directory lists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sq-'))
    await writeFile(join(dir, 'qemu-arm-static'), 'static', { mode: 0o644 })
    await writeFile(join(dir, 'qemu-arm'), 'plain', { mode: 0o644 })
    await writeFile(join(dir, 'qemu-riscv64-static'), 'only', { mode: 0o644 })
    await symlink('/bin/true', join(dir, 'qemu-s390x'))
    await keepOnlyEmulators(dir, 'all')
    expect((await readdir(dir)).sort()).toEqual(['qemu-arm', 'qemu-riscv64'])
    expect(await readFile(join(dir, 'qemu-arm'), 'utf8')).toBe('plain')
    expect(await readFile(join(dir, 'qemu-riscv64'), 'utf8')).toBe('only')
    await rm(dir, { recursive: true })
  })
})

describe('emulators for this host', () => {
  const host = fromNodeArch(process.arch) as Platform
  const foreign = PLATFORMS.find(p => p.family !== host.family) as Platform

  it("takes an ELF executable of the host's class, byte order and machine", () => {
    expect(elfProblem(buildProbe(host), host)).toBeUndefined()
    // a position-independent one too
    const pie = Buffer.from(buildProbe(host))
    if (host.elf.endian === 'le') pie.writeUInt16LE(3, 16)
    else pie.writeUInt16BE(3, 16)
    expect(elfProblem(pie, host)).toBeUndefined()
  })

  it('says what anything else is', () => {
    expect(elfProblem(buildProbe(foreign), host)).toBe(`an ELF for ${foreign.cpu}, not for this ${host.cpu} host`)
    expect(elfProblem(Buffer.from('#!/bin/sh\nexit 42\n'), host)).toBe('not an ELF file')
    expect(elfProblem(Buffer.alloc(0), host)).toBe('not an ELF file')
    const relocatable = Buffer.from(buildProbe(host))
    relocatable[16] = relocatable[17] = 0
    relocatable[host.elf.endian === 'le' ? 16 : 17] = 1
    expect(elfProblem(relocatable, host)).toBe(`an ELF for ${host.cpu} but not an executable (type 1)`)
    // same machine number, other class (x32-style): not this host's
    const otherClass = Buffer.from(buildProbe(host))
    otherClass[4] = host.elf.bits === 64 ? 1 : 2
    expect(elfProblem(otherClass, host)).toMatch(/^an ELF for .*, not for this .* host$/)
    // a machine the table does not know is described by its number
    const odd = Buffer.from(buildProbe(host))
    if (host.elf.endian === 'le') odd.writeUInt16LE(0x1234, 18)
    else odd.writeUInt16BE(0x1234, 18)
    expect(elfProblem(odd, host)).toBe(
      `an ELF for machine 0x1234 (${host.elf.bits}-bit, ${host.elf.endian === 'le' ? 'little' : 'big'}-endian), not for this ${host.cpu} host`
    )
  })

  it("lists a directory's executable emulators in the platform table's order, whatever order the files answer in", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sq-emulators-'))
    try {
      const reversed = [...PLATFORMS].reverse()
      for (const p of reversed) await writeFile(join(dir, `qemu-${p.cpu}`), 'x', { mode: 0o755 })
      await chmod(join(dir, `qemu-${reversed[0].cpu}`), 0o644) // not executable: not listed
      expect([...(await emulatorsIn(dir))]).toEqual(PLATFORMS.slice(0, -1).map(p => p.arch))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('knows the host from the platform table, and refuses a host it does not know', () => {
    expect(hostPlatform(process.arch)).toBe(host)
    expect(() => hostPlatform('sparc')).toThrow(/this host's arch \(sparc\) is not in the platform table/)
  })
})

describe('URLs that are stored or shown', () => {
  it('lose their userinfo, query and fragment', () => {
    expect(redactUrl('https://ci:s3cr3t@mirror.example:8443/a/b.tar.gz?sig=x&t=1#f')).toBe(
      'https://mirror.example:8443/a/b.tar.gz'
    )
    expect(redactUrl('https://tok3n@mirror.example/q.tar.gz')).toBe('https://mirror.example/q.tar.gz')
    expect(redactUrl('https://mirror.example/q.tar.gz')).toBe('https://mirror.example/q.tar.gz')
  })

  it('leave image references and other text as they are', () => {
    const ref = 'docker.io/tonistiigi/binfmt:qemu-v10.2.3-68@sha256:' + 'a'.repeat(64)
    expect(redactUrl(ref)).toBe(ref)
  })

  it('are cut at their delimiters when they do not parse', () => {
    expect(redactUrl('https://u:p@[bad/x.tar.gz?k=v')).toBe('https://[bad/x.tar.gz')
  })
})
