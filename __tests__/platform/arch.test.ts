import { describe, expect, it } from '@jest/globals'
import { fromNodeArch, platformOfMachine, tarballArch } from '../../src/platform/arch.js'
import { PLATFORMS } from '../../src/platform/platforms.js'

describe("the table's names", () => {
  it('give each Node arch and each uname -m word of the table at most one platform', () => {
    const nodes = PLATFORMS.flatMap(p => (p.names.node ? [p.names.node] : []))
    expect(new Set(nodes).size).toBe(nodes.length)
    for (const p of PLATFORMS) {
      const claims = PLATFORMS.filter(q => q.names.machine?.test(p.cpu))
      expect(claims.length).toBeLessThanOrEqual(1)
    }
  })
})

describe("Node's arch", () => {
  it.each([
    ['x64', 'amd64', 'amd64'],
    ['ia32', '386', '386'],
    ['arm64', 'arm64', 'arm64'],
    ['arm', 'arm', 'arm-v7'],
    ['riscv64', 'riscv64', 'riscv64'],
    ['ppc64', 'ppc64le', 'ppc64le'],
    ['s390x', 's390x', 's390x'],
    ['mips64el', 'mips64le', 'mips64el'],
    ['loong64', 'loong64', 'loong64']
  ])('%s is the platform %s and the tarball arch %s', (node, arch, tarball) => {
    expect(fromNodeArch(node)?.arch).toBe(arch)
    expect(tarballArch(node)).toBe(tarball)
  })

  it('one the table does not know has no platform, and keeps its own word for a tarball', () => {
    expect(fromNodeArch('sparc')).toBeUndefined()
    expect(tarballArch('sparc')).toBe('sparc')
  })
})

describe("the engine's machine", () => {
  it.each([
    ['x86_64', 'amd64'],
    ['aarch64', 'arm64'],
    ['armv7l', 'arm'],
    ['armv6l', 'arm'],
    ['arm', 'arm'],
    ['i686', '386'],
    ['i386', '386'],
    ['s390x', 's390x'],
    ['ppc64le', 'ppc64le'],
    ['riscv64', 'riscv64'],
    ['mips64el', 'mips64le'],
    ['loongarch64', 'loong64']
  ])('%s is %s', (machine, arch) => expect(platformOfMachine(machine)?.arch).toBe(arch))

  it('one that could be either byte order, or none known, is not guessed', () => {
    expect(platformOfMachine('mips64')).toBeUndefined()
    expect(platformOfMachine('sparc64')).toBeUndefined()
    expect(platformOfMachine('armv4')).toBeUndefined()
  })
})
