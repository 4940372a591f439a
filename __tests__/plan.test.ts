import { describe, expect, it } from '@jest/globals'
import { parseEntry, registrationLine, type Entry } from '../src/binfmt/entry.js'
import { nativePlatforms } from '../src/host/inspect.js'
import { probesToRun } from '../src/probe/run.js'
import { byArch, type Platform } from '../src/platforms.js'
import type { ProbeResult } from '../src/probe/run.js'
import { changesFor, decide, type PlanInput } from '../src/register/plan.js'
import { resultFor } from '../src/register/helper.js'
import { outputsFor } from '../src/report/report.js'
import type { Verdict } from '../src/verify/verify.js'

const ours = (p: Platform): string => `/run/setup-qemu/k/qemu-${p.cpu}`
const entry = (p: Platform, interpreter: string, flags = 'POCF', enabled = true): Entry => {
  const [, , , , magic, mask] = registrationLine(p, interpreter).split(':')
  const hex = (s: string): string => s.replaceAll('\\x', '')
  return parseEntry(`qemu-${p.cpu}`, `${enabled ? 'enabled' : 'disabled'}\ninterpreter ${interpreter}\nflags: ${flags}\noffset 0\nmagic ${hex(magic)}\nmask ${hex(mask)}\n`)
}
const ok: ProbeResult = { ok: true }
const noHandler: ProbeResult = { ok: false, error: 'no handler' }

function input(over: Partial<PlanInput>): PlanInput {
  return { requested: [], native: [byArch('amd64'), byArch('386')], entries: new Map(), before: new Map(), reset: false, interpreter: ours, ...over }
}

describe('native platforms', () => {
  it('are those whose probe runs with no entry claiming them, plus the host itself', () => {
    const results = new Map<string, ProbeResult>([['amd64', ok], ['386', ok], ['arm64', ok], ['s390x', noHandler]])
    const arm64 = entry(byArch('arm64'), '/usr/bin/qemu-aarch64')
    expect(nativePlatforms(results, new Map([[arm64.name, arm64]]), 'x64').map(p => p.arch)).toEqual(['amd64', '386'])
    // with nothing claiming it, a running arm64 probe means the host runs it
    expect(nativePlatforms(results, new Map(), 'x64').map(p => p.arch)).toEqual(['amd64', '386', 'arm64'])
    // on an arm64 host whose CPU cannot run 32-bit arm, arm is not native
    expect(nativePlatforms(new Map([['arm', noHandler]]), new Map(), 'arm64').map(p => p.arch)).toEqual(['arm64'])
  })
})

describe('which probes run', () => {
  it('the host family and what was asked for; everything for all or an unknown host', () => {
    expect(probesToRun([byArch('s390x')], 'x64').map(p => p.arch)).toEqual(['amd64', '386', 's390x'])
    expect(probesToRun([byArch('amd64')], 'arm64').map(p => p.arch)).toEqual(['amd64', 'arm64', 'arm'])
    expect(probesToRun('all', 'x64')).toHaveLength(10)
    expect(probesToRun([], 'sparc')).toHaveLength(10)
  })
})

describe('decisions', () => {
  const arm64 = byArch('arm64')

  it('never registers a native platform', () => {
    const d = decide(input({ requested: [byArch('amd64'), arm64] }))
    expect(d.map(x => x.action)).toEqual(['native', 'add'])
  })

  it('keeps our own healthy entry and a healthy foreign one, says which', () => {
    const mine = entry(arm64, ours(arm64))
    expect(decide(input({ requested: [arm64], entries: new Map([[mine.name, mine]]), before: new Map([['arm64', ok]]) }))[0]).toMatchObject({
      action: 'keep', reason: 'already registered by this action'
    })
    const upstream = entry(arm64, '/usr/bin/qemu-aarch64')
    expect(decide(input({ requested: [arm64], entries: new Map([[upstream.name, upstream]]), before: new Map([['arm64', ok]]) }))[0].reason).toMatch(
      /kept the healthy entry there \(\/usr\/bin\/qemu-aarch64\)/
    )
  })

  it.each([
    ['without F', entry(byArch('arm64'), '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', 'POC'), ok, /no F flag/],
    ['disabled', entry(byArch('arm64'), '/usr/bin/qemu-aarch64', 'POCF', false), noHandler, /disabled/],
    ['failing its probe', entry(byArch('arm64'), '/usr/bin/qemu-aarch64'), { ok: false, error: 'crashed', detail: 'killed by SIGSEGV' } as ProbeResult, /probe failed \(crashed: killed by SIGSEGV\)/]
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
    expect(d.map(x => [x.action, x.reason])).toEqual([['add', 'not registered yet'], ['unavailable', 'the source has no qemu-s390x']])
  })

  it('with reset removes every qemu-* entry, touches no other, and registers afresh', () => {
    const mine = entry(arm64, ours(arm64))
    const stranger = entry(byArch('s390x'), '/usr/bin/qemu-s390x')
    const jar = parseEntry('jar', 'enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n')
    const entries = new Map([[mine.name, mine], [stranger.name, stranger], ['jar', jar]])
    const d = decide(input({ requested: [arm64], entries, before: new Map([['arm64', ok]]), reset: true }))
    expect(d[0].action).toBe('add')
    expect(changesFor(d, entries, true, ours).map(c => `${c.op} ${c.name}`)).toEqual(['remove qemu-aarch64', 'remove qemu-s390x', 'add qemu-aarch64'])
  })
})

describe('helper answers', () => {
  it('finds each change by name, not by prefix', () => {
    const lines = ['ok add qemu-armeb', 'exists add qemu-arm', 'failed remove qemu-s390x sh: write error: Invalid argument']
    expect(resultFor({ op: 'add', name: 'qemu-arm', line: '' }, lines).status).toBe('exists')
    expect(resultFor({ op: 'remove', name: 'qemu-s390x' }, lines)).toMatchObject({ status: 'failed', error: 'sh: write error: Invalid argument' })
    expect(resultFor({ op: 'add', name: 'qemu-riscv64', line: '' }, lines)).toMatchObject({ status: 'failed', error: 'the helper did not report on it' })
  })
})

describe('outputs', () => {
  const v = (arch: string, okay: boolean, native = false): Verdict => ({ platform: byArch(arch), native, ok: okay, how: 'test', reason: okay ? undefined : 'no handler' })

  it('lists native first, then emulated, in buildx form, and only what passed', () => {
    const o = outputsFor([v('s390x', true), v('arm', true), v('arm64', true), v('riscv64', false)], [byArch('amd64'), byArch('386')], '10.2.3')
    expect(o).toEqual({
      platforms: 'linux/amd64,linux/386,linux/arm64,linux/arm/v7,linux/arm/v6,linux/s390x',
      emulated: 'linux/arm64,linux/arm/v7,linux/arm/v6,linux/s390x',
      failed: 'linux/riscv64',
      qemuVersion: '10.2.3'
    })
  })

  it('leaves failed empty when all passed, and never lists a platform twice', () => {
    const o = outputsFor([v('amd64', true, true), v('arm64', true)], [byArch('amd64')])
    expect(o.platforms).toBe('linux/amd64,linux/arm64')
    expect(o.failed).toBe('')
    expect(o.qemuVersion).toBe('')
  })
})
