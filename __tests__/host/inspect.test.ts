import { describe, expect, it } from '@jest/globals'
import { handlersOf, parseEntry, registrationLine, type Entry } from '../../src/binfmt/entry.js'
import { nativeness, protectedPlatforms } from '../../src/host/inspect.js'
import { byArch, type Platform } from '../../src/platform/platforms.js'
import type { ProbeResult } from '../../src/probe/run.js'

const entry = (p: Platform, name = `qemu-${p.cpu}`, flags = 'P'): Entry => {
  const [, , , , magic, mask] = registrationLine(p, '/x').split(':')
  const hex = (s: string): string => s.replaceAll('\\x', '')
  return parseEntry(
    name,
    `enabled\ninterpreter /usr/libexec/qemu-binfmt/${p.cpu}-binfmt-P\nflags: ${flags}\noffset 0\nmagic ${hex(magic)}\nmask ${hex(mask)}\n`
  )
}
const ok: ProbeResult = { ok: true }
const refused: ProbeResult = { ok: false, error: 'exec failed', detail: 'the kernel refused to run it' }
const [amd64, i386, arm64, arm, s390x] = ['amd64', '386', 'arm64', 'arm', 's390x'].map(byArch)

describe('nativeness: known, never guessed', () => {
  it.each([
    ['the host platform itself', amd64, amd64, ok, [], undefined, 'native'],
    ['a family member whose probe runs with nothing claiming it', i386, amd64, ok, [], undefined, 'native'],
    ['a family member the kernel refuses with nothing claiming it', i386, amd64, refused, [], undefined, 'foreign'],
    ['32-bit arm on an arm64 CPU without AArch32', arm, arm64, refused, [], undefined, 'foreign'],
    ['another family, whatever its probe says', s390x, amd64, ok, [], undefined, 'foreign'],
    ['a family member claimed by an entry, the CPU runs it', i386, amd64, ok, [entry(i386)], { runs: true }, 'native'],
    ['a family member claimed by an entry, the CPU does not', i386, amd64, ok, [entry(i386)], { runs: false }, 'foreign']
  ] as const)('%s', (_, p, own, result, handlers, cpu, expected) => {
    expect(nativeness(p, own, result, handlers, cpu)).toEqual(expected)
  })

  it('a family member claimed by an entry whose CPU answer cannot be had is undecided, with why', () => {
    expect(nativeness(i386, amd64, ok, [entry(i386)], { unknown: 'unshare: no' })).toEqual({
      undecided:
        'qemu-i386 claims its binaries, and whether the CPU runs them itself could not be learned without it (unshare: no)'
    })
    expect(nativeness(i386, amd64, ok, [entry(i386)])).toMatchObject({ undecided: expect.stringMatching(/^qemu-i386 claims/) })
    expect(nativeness(i386, amd64, { ok: false, error: 'timed out' }, [])).toEqual({ undecided: 'its probe did not finish' })
  })

  it('what may be native is protected like what is', () => {
    expect(protectedPlatforms({ native: [amd64], undecided: new Map([['386', 'why']]) })).toEqual([amd64, i386])
  })
})

describe('handlers', () => {
  it('are the enabled entries that claim the probe, whatever their name', () => {
    const other = entry(arm64, 'aarch64-vendor')
    const off = { ...entry(arm64), enabled: false }
    expect(
      handlersOf(
        arm64,
        new Map([
          ['a', other],
          ['b', off],
          ['c', entry(s390x)]
        ])
      )
    ).toEqual([other])
  })
})
