import { describe, expect, it } from '@jest/globals'
import {
  InputError,
  parsePlatforms,
  referenceProblem,
  validateImage,
  validateSha256,
  validateUrl
} from '../../src/inputs/validate.js'
import { PLATFORMS, byArch } from '../../src/platform/platforms.js'
import { fromNodeArch } from '../../src/platform/arch.js'

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

  const HEX = 'bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e'

  it.each([
    'docker.io/tonistiigi/binfmt:qemu-v10.2.3-68@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0',
    'busybox',
    'busybox:1.37.0',
    `busybox@sha256:${HEX}`,
    'ghcr.io/my-org/my_image__x/sub.name:Tag_1.2-rc',
    'localhost/binfmt',
    'localhost:5000',
    '[::1]:5000/binfmt:test',
    'Registry.Example.com:443/org/binfmt',
    `library/busybox:_x@sha256:${HEX}`
  ])('has no problem with %s', ref => expect(referenceProblem(ref)).toBeUndefined())

  // every mistake we know people make in an image reference, with the reason the error gives
  it.each([
    ['', /^it is empty$/],
    [`${'a'.repeat(510)}:x1`, /longer than 512 characters/],
    ['busybox:tag with space', /has a space in it/],
    ['busybox\t', /has a space in it/],
    ['https://ghcr.io/org/binfmt', /starts with https:\/\/.*leave that out/],
    ['docker://busybox', /starts with docker:\/\//],
    ['busybox;id', /a character no reference can have \(";"\)/],
    ['$(id)', /a character no reference can have \("\$"\)/],
    ['ghcr.io/org/binfmt:1+2', /a character no reference can have \("\+"\)/],
    ['busybox@sha256:abc', /its digest has 3 hex digits, not 64/],
    [`busybox@sha256:${HEX}0`, /its digest has 65 hex digits, not 64/],
    [`busybox@sha256:${HEX.toUpperCase()}`, /hex digits of its digest are upper case/],
    [`busybox@sha256:${HEX.slice(0, 63)}g`, /its digest has characters that are not hex digits/],
    [`busybox@sha512:${HEX}${HEX}`, /its digest is "sha512", and only sha256 digests are taken/],
    [`busybox@${HEX}`, /the digest after "@" has no sha256: in front/],
    ['busybox@', /the digest after "@" has no sha256: in front/],
    [`busybox@sha256:${HEX}:1.37.0`, /something follows its digest: a tag goes before the "@"/],
    [`busybox@sha256:${HEX}@sha256:${HEX}`, /more than one "@"/],
    ['ghcr.io/MyOrg/binfmt:latest', /upper-case letters \("MyOrg"\).*write "myorg"/],
    ['docker.io/tonistiigi/Binfmt', /upper-case letters \("Binfmt"\)/],
    ['Busybox', /upper-case letters \("Busybox"\)/],
    ['MyOrg/binfmt', /upper-case letters \("MyOrg"\)/],
    ['docker.io/', /the repository name is missing/],
    ['ghcr.io/org//binfmt', /repository path has an empty part/],
    ['/binfmt', /repository path has an empty part/],
    [':latest', /the repository name is missing/],
    [`@sha256:${HEX}`, /the repository name is missing/],
    ['-v/:/host', /"-v" starts or ends with "\.", "_" or "-"/],
    ['org-/binfmt', /"org-" starts or ends with/],
    ['busybox.', /"busybox\." starts or ends with/],
    ['org/my..name', /"my\.\.name" has separators a repository name cannot have/],
    ['my..org/binfmt', /its registry host "my\.\.org" is not a host name/],
    ['my___org/binfmt', /"my___org" has separators/],
    ['a:b:c', /more than one ":" after the name \("a:b:c"\)/],
    ['busybox:', /the tag after ":" is empty/],
    ['busybox:-x', /its tag "-x" starts with "-"/],
    ['busybox:.x', /its tag "\.x" starts with "\."/],
    [`busybox:${'t'.repeat(129)}`, /its tag is longer than 128 characters/],
    ['registry.example.com:port/binfmt', /its registry port "port" is not a number/],
    ['registry.example.com:123456/binfmt', /its registry port "123456" is not a number/],
    ['-registry.example.com/binfmt', /its registry host "-registry\.example\.com" is not a host name/]
  ])('refuses %j, saying why', (ref, why) => {
    expect(referenceProblem(ref)).toMatch(why)
    expect(() => validateImage('image', ref)).toThrow(InputError)
    expect(() => validateImage('image', ref)).toThrow(/^input image is not an image reference: ".*": .+\. Write it as /s)
  })

  it('never has a problem with what the grammar accepts, but an upper-case first part without a dot or port', () => {
    for (const ref of ['a', 'a/b', 'a.b/c:d', 'a:1/b', 'x/y/z:v@sha256:' + HEX]) expect(referenceProblem(ref)).toBeUndefined()
    expect(referenceProblem('Org/app')).toMatch(/upper-case/)
    expect(referenceProblem('Org.example/app')).toBeUndefined()
  })

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
