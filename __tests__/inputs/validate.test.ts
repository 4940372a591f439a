import { describe, expect, it } from '@jest/globals'
import { InputError, parsePlatforms, validateImage, validateSha256, validateUrl } from '../../src/inputs/validate.js'
import { PLATFORMS, byArch, fromNodeArch } from '../../src/platforms.js'

const archs = (v: string): string[] | 'all' => {
  const r = parsePlatforms(v)
  return r === 'all' ? r : r.map(p => p.arch)
}

describe('platform parsing', () => {
  it.each([
    ['linux/arm64', ['arm64']],
    ['arm64', ['arm64']],
    ['aarch64', ['arm64']],
    ['linux/arm/v7', ['arm']],
    ['linux/arm/v6,arm', ['arm']],
    ['x86_64', ['amd64']],
    ['i386', ['386']],
    ['mips64el', ['mips64le']],
    ['loongarch64', ['loong64']],
    ['LINUX/S390X', ['s390x']],
    ['s390x, arm64\n riscv64,,', ['arm64', 'riscv64', 's390x']],
    // every word upstream accepts: /vN variants of a known platform, armel, quoted CSV
    ['linux/arm/v5', ['arm']],
    ['linux/arm/v8', ['arm']],
    ['armel', ['arm']],
    ['linux/amd64/v2,linux/amd64/v3,linux/amd64/v4', ['amd64']],
    ['linux/arm64/v8,linux/arm64/v9', ['arm64']],
    ['"linux/arm64","linux/s390x"', ['arm64', 's390x']],
    ['linux/arm/v5,linux/amd64/v2,"linux/arm64"', ['amd64', 'arm64', 'arm']],
    ['"linux/arm64, linux/s390x"\nlinux/ppc64le', ['arm64', 'ppc64le', 's390x']]
  ])('%j means %j, in table order and without duplicates', (input, expected) => {
    expect(archs(input)).toEqual(expected)
  })

  it('accepts all, alone or among others, and takes no word at all as all, as upstream does', () => {
    expect(archs('all')).toBe('all')
    expect(archs('')).toBe('all')
    expect(archs(' , \n,')).toBe('all')
    expect(archs('arm64,all')).toBe('all')
    // every word is checked, the ones after all too
    expect(() => parsePlatforms('arm64,all,arm65;rm')).toThrow(/unknown platform "arm65;rm"/)
  })

  it.each([
    ['arm65', /unknown platform "arm65".*Accepted: all, amd64/],
    ['arm64;rm -rf /', /unknown platform/],
    ['$(id)', /unknown platform/],
    ['a'.repeat(500), /unknown platform "a{40}…"/]
  ])('refuses %j', (input, message) => {
    expect(() => parsePlatforms(input)).toThrow(InputError)
    expect(() => parsePlatforms(input)).toThrow(message)
  })
})

describe('reference validation', () => {
  it.each([
    'docker.io/tonistiigi/binfmt:qemu-v10.2.3-68@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0',
    'busybox',
    '127.0.0.1:5000/binfmt:test',
    'mirror.gcr.io/library/busybox@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e'
  ])('accepts %s', ref => expect(validateImage('image', ref)).toBe(ref))

  it.each(['', 'Busybox', 'busybox;id', 'busybox:tag with space', '-v/:/host', 'busybox@sha256:abc', 'a:b:c'])(
    'refuses %j',
    ref => expect(() => validateImage('image', ref)).toThrow(/not an image reference/)
  )

  it('accepts http(s) URLs with placeholders and refuses others', () => {
    expect(validateUrl('u', 'https://mirror.example/binfmt/{version}/qemu_linux-{arch}.tar.gz')).toContain('{arch}')
    expect(() => validateUrl('u', 'file:///etc/passwd')).toThrow(/http or https/)
    expect(() => validateUrl('u', 'ftp://x/y')).toThrow(/http or https/)
    expect(() => validateUrl('u', 'not a url')).toThrow(/not a URL/)
    expect(() => validateUrl('u', 'https://x/{other}')).toThrow(/characters/)
  })

  it('accepts 64 hex digits as a checksum, lower-cased', () => {
    expect(validateSha256('s', 'A'.repeat(64))).toBe('a'.repeat(64))
    expect(() => validateSha256('s', 'a'.repeat(63))).toThrow(/64 hexadecimal/)
    expect(() => validateSha256('s', 'g'.repeat(64))).toThrow(/64 hexadecimal/)
  })
})

describe('the platform table', () => {
  it('names every platform once and maps node arches to it', () => {
    const all = PLATFORMS.flatMap(p => p.platforms)
    expect(new Set(all).size).toBe(all.length)
    expect(fromNodeArch('x64')).toBe(byArch('amd64'))
    expect(fromNodeArch('arm64')).toBe(byArch('arm64'))
    expect(fromNodeArch('sparc')).toBeUndefined()
  })
})
