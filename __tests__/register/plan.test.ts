import { describe, expect, it } from '@jest/globals'
import { parseEntry, registrationLine, type Entry } from '../../src/binfmt/entry.js'
import { PLATFORMS, byArch, type Platform } from '../../src/platform/platforms.js'
import type { ProbeResult } from '../../src/probe/run.js'
import { changesFor, decide, registersFromTable, type PlanInput } from '../../src/register/plan.js'

const ours = (p: Platform): string => `/run/setup-qemu/k/qemu-${p.cpu}`
const entry = (p: Platform, interpreter: string, flags = 'POCF', enabled = true): Entry => {
  const [, , , , magic, mask] = registrationLine(p, interpreter).split(':')
  const hex = (s: string): string => s.replaceAll('\\x', '')
  return parseEntry(
    `qemu-${p.cpu}`,
    `${enabled ? 'enabled' : 'disabled'}\ninterpreter ${interpreter}\nflags: ${flags}\noffset 0\nmagic ${hex(magic)}\nmask ${hex(mask)}\n`
  )
}
const ok: ProbeResult = { ok: true }
const noHandler: ProbeResult = { ok: false, error: 'no handler' }

function input(over: Partial<PlanInput>): PlanInput {
  return {
    requested: [],
    native: [byArch('amd64'), byArch('386')],
    entries: new Map(),
    before: new Map(),
    reset: false,
    interpreter: ours,
    ...over
  }
}

describe('decisions', () => {
  const arm64 = byArch('arm64')

  it('never registers a native platform', () => {
    const d = decide(input({ requested: [byArch('amd64'), arm64] }))
    expect(d.map(x => x.action)).toEqual(['native', 'add'])
  })

  it('keeps our own healthy entry and a healthy foreign one, says which', () => {
    const mine = entry(arm64, ours(arm64))
    expect(
      decide(input({ requested: [arm64], entries: new Map([[mine.name, mine]]), before: new Map([['arm64', ok]]) }))[0]
    ).toMatchObject({
      action: 'keep',
      reason: 'already registered by this action'
    })
    const upstream = entry(arm64, '/usr/bin/qemu-aarch64')
    expect(
      decide(input({ requested: [arm64], entries: new Map([[upstream.name, upstream]]), before: new Map([['arm64', ok]]) }))[0]
        .reason
    ).toMatch(/kept the healthy entry there \(\/usr\/bin\/qemu-aarch64\)/)
  })

  it.each([
    ['without F', entry(byArch('arm64'), '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', 'POC'), ok, /no F flag/],
    ['disabled', entry(byArch('arm64'), '/usr/bin/qemu-aarch64', 'POCF', false), noHandler, /disabled/],
    [
      'failing its probe',
      entry(byArch('arm64'), '/usr/bin/qemu-aarch64'),
      { ok: false, error: 'crashed', detail: 'killed by SIGSEGV' } as ProbeResult,
      /probe failed \(crashed: killed by SIGSEGV\)/
    ]
  ])('replaces an entry %s, saying why', (_, e, probe, why) => {
    const [d] = decide(input({ requested: [arm64], entries: new Map([[e.name, e]]), before: new Map([['arm64', probe]]) }))
    expect(d.action).toBe('replace')
    expect(d.reason).toMatch(why)
    expect(changesFor([d], new Map([[e.name, e]]), false, ours)).toEqual([
      { op: 'remove', name: 'qemu-aarch64' },
      { op: 'add', name: 'qemu-aarch64', line: registrationLine(arm64, ours(arm64)) }
    ])
  })

  it('keeps a platform another healthy entry already handles', () => {
    const other = { ...entry(arm64, '/usr/bin/qemu-aarch64'), name: 'aarch64' }
    const [d] = decide(input({ requested: [arm64], entries: new Map([['aarch64', other]]), before: new Map([['arm64', ok]]) }))
    expect(d).toMatchObject({ action: 'keep', reason: 'handled by the healthy entry aarch64' })
  })

  it('marks what the source lacks as unavailable', () => {
    const d = decide(input({ requested: [arm64, byArch('s390x')], has: new Set(['arm64']) }))
    expect(d.map(x => [x.action, x.reason])).toEqual([
      ['add', 'not registered yet'],
      ['unavailable', 'the source has no qemu-s390x']
    ])
  })

  it('with reset removes every qemu-* entry, touches no other, and registers afresh', () => {
    const mine = entry(arm64, ours(arm64))
    const stranger = entry(byArch('s390x'), '/usr/bin/qemu-s390x')
    const jar = parseEntry('jar', 'enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n')
    const entries = new Map([
      [mine.name, mine],
      [stranger.name, stranger],
      ['jar', jar]
    ])
    const d = decide(input({ requested: [arm64], entries, before: new Map([['arm64', ok]]), reset: true }))
    expect(d[0].action).toBe('add')
    // each name is removed just before its new entry; the others only after every add
    expect(changesFor(d, entries, true, ours).map(c => `${c.op} ${c.name}`)).toEqual([
      'remove qemu-aarch64',
      'add qemu-aarch64',
      'remove qemu-s390x'
    ])
  })

  it('orders replacements so a stop part-way leaves at most one name without an entry', () => {
    const stale = (p: Platform): Entry => entry(p, `/usr/libexec/qemu-binfmt/${p.cpu}-binfmt-P`, 'P')
    const [a, s, r] = [arm64, byArch('s390x'), byArch('riscv64')]
    const entries = new Map([a, s].map(p => [`qemu-${p.cpu}`, stale(p)] as const))
    const d = decide(
      input({
        requested: [a, r, s],
        entries,
        before: new Map([
          ['arm64', ok],
          ['s390x', ok]
        ])
      })
    )
    expect(d.map(x => x.action)).toEqual(['replace', 'add', 'replace'])
    expect(changesFor(d, entries, false, ours).map(c => `${c.op} ${c.name}`)).toEqual([
      'remove qemu-aarch64',
      'add qemu-aarch64',
      'add qemu-riscv64',
      'remove qemu-s390x',
      'add qemu-s390x'
    ])
  })

  it('leaves alone entries it may not remove: odd names, and what could not be put back', () => {
    const odd = { ...entry(byArch('s390x'), '/x'), name: 'qemu-x\r::warning::y' }
    const entries = new Map([[odd.name, odd]])
    const d = decide(input({ requested: [arm64], entries, reset: true }))
    expect(changesFor(d, entries, true, ours).map(c => `${c.op} ${c.name}`)).toEqual(['add qemu-aarch64'])
    const mine = entry(arm64, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', 'P')
    const d2 = decide(input({ requested: [arm64], entries: new Map([[mine.name, mine]]), before: new Map([['arm64', ok]]) }))
    expect(changesFor(d2, new Map([[mine.name, mine]]), false, ours, () => false)).toEqual([])
  })

  it('never registers a platform that may be native, and says why', () => {
    const i386 = byArch('386')
    const undecided = new Map([['386', 'qemu-i386 claims its binaries']])
    const d = decide(input({ requested: [i386], native: [byArch('amd64')], undecided, reset: true }))
    expect(d[0]).toMatchObject({
      action: 'unavailable',
      reason: 'not registered, as this host may run it natively: qemu-i386 claims its binaries'
    })
    expect(changesFor(d, new Map(), false, ours)).toEqual([])
  })
})

describe('what the table alone says, before any probe', () => {
  const amd64 = byArch('amd64')
  const table = (...ps: Platform[]): Map<string, Entry> => new Map(ps.map(p => [`qemu-${p.cpu}`, entry(p, ours(p))]))
  const foreign = PLATFORMS.filter(p => p.family !== amd64.family)

  it('a foreign platform nothing handles will be registered', () => {
    expect(registersFromTable([byArch('arm64')], table(), amd64, false)).toBe(true)
    expect(registersFromTable('all', table(...foreign.slice(1)), amd64, false)).toBe(true)
  })

  it('nothing is certain when every foreign platform asked for has a handler, or only the host family is asked for', () => {
    expect(registersFromTable([byArch('arm64')], table(byArch('arm64')), amd64, false)).toBe(false)
    expect(registersFromTable('all', table(...foreign), amd64, false)).toBe(false)
    // 386 may run natively on an amd64 host: only its probe can tell
    expect(registersFromTable([byArch('386')], table(), amd64, false)).toBe(false)
  })

  it('a disabled entry handles nothing, and a reset registers whatever is there', () => {
    const disabled = new Map([['qemu-aarch64', entry(byArch('arm64'), ours(byArch('arm64')), 'POCF', false)]])
    expect(registersFromTable([byArch('arm64')], disabled, amd64, false)).toBe(true)
    expect(registersFromTable([byArch('arm64')], table(byArch('arm64')), amd64, true)).toBe(true)
  })
})
