import { describe, expect, it } from '@jest/globals'
import { platformOfMachine } from '../../src/host/engine-view.js'

describe("the engine's machine", () => {
  it.each([
    ['x86_64', 'amd64'],
    ['aarch64', 'arm64'],
    ['armv7l', 'arm'],
    ['i686', '386'],
    ['s390x', 's390x'],
    ['ppc64le', 'ppc64le']
  ])('%s is %s', (machine, arch) => expect(platformOfMachine(machine)?.arch).toBe(arch))
  it('one that could be either byte order, or none known, is not guessed', () => {
    expect(platformOfMachine('mips64')).toBeUndefined()
    expect(platformOfMachine('sparc64')).toBeUndefined()
  })
})
