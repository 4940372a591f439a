/**
 * The words `platforms:` takes: a /vN variant is its platform (linux/arm/v5 is arm, linux/amd64/v2 is
 * amd64), a quoted word is a word, a value of separators only is `all`, and an unknown word fails the
 * step before anything is touched, listing the words it accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import type { RunResult } from '../../scripts/runner.mjs'
import { IMG, act, clearEntries, cpuOf, emulatedOf, entries, isNative, platformsOf, toolCache, useHost } from './host.js'

useHost()

const TC = toolCache('platform-words')
const run = (name: string, platforms: string): Promise<RunResult> =>
  act(name, { platforms, ...IMG }, { env: { RUNNER_TOOL_CACHE: TC } })
const errors = (r: RunResult): string =>
  r.mainLog
    .split('\n')
    .filter(l => l.startsWith('::error'))
    .join('\n')

/**
 * Whether this CPU has what x86-64-v2 needs (cx16, lahf_lm, popcnt, sse4_1, sse4_2, ssse3). The action
 * does not look: a /vN word is its platform, so linux/amd64/v2 is amd64 on any x86_64 host, and this only
 * names the case in the test's title.
 */
const V2_FLAGS = ['cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3']
const cpuFlags = new Set(/^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? [])
const hasV2 = V2_FLAGS.every(f => cpuFlags.has(f))

describe('platforms: linux/arm/v5,linux/amd64/v2,"linux/arm64"', () => {
  // the platforms those words are: arm (served as linux/arm/v7 and v6), amd64 and arm64
  const ASKED = ['linux/arm/v7', 'linux/arm/v6', 'linux/amd64', 'linux/arm64']
  const expected = [...new Set(ASKED.filter(p => !isNative(p)).map(p => `qemu-${cpuOf(p)}`))].sort()
  let r: RunResult
  let before: string[]
  let added: string[]
  beforeAll(async () => {
    clearEntries()
    before = entries()
    r = await run('words', 'linux/arm/v5,linux/amd64/v2,"linux/arm64"')
    added = entries().filter(e => !before.includes(e))
  })
  afterAll(() => clearEntries())

  it('the table is empty before the step', () => expect(before).toEqual([]))
  it('the step passes', () => expect(r.rc).toBe(0))
  it(`the entries it registered are exactly ${expected.join(' ')}`, () => expect(added).toEqual(expected))
  it('output emulated lists them as buildx names them', () => expect(r.outputs.emulated).toBe(emulatedOf(...ASKED)))
  it('output platforms: the native ones, then those', () => expect(r.outputs.platforms).toBe(platformsOf(...ASKED)))
  if (isNative('linux/amd64')) {
    it(`linux/amd64/v2 is amd64, native here: nothing registered for it (CPU ${hasV2 ? 'has' : 'lacks'} x86-64-v2; the action does not check CPU levels)`, () => {
      expect(added).not.toContain('qemu-x86_64')
      expect(r.outputs.emulated.split(',')).not.toContain('linux/amd64')
      expect(r.outputs.platforms.split(',')).toContain('linux/amd64')
      expect(r.mainLog).toContain('linux/amd64 runs natively on this host: nothing to register for it')
    })
  }
})

describe('platforms: separators only', () => {
  let words: RunResult
  let all: RunResult
  beforeAll(async () => {
    clearEntries()
    words = await run('separators', ' , ,\n')
    clearEntries()
    all = await run('separators-all', 'all')
  })
  afterAll(() => clearEntries())

  it('the step passes', () => expect(words.rc).toBe(0))
  it('it reads as all', () => expect(words.mainLog).toContain('platforms: all'))
  it('its outputs are those of a plain `all` run', () => {
    expect(all.rc).toBe(0)
    expect(words.outputs).toEqual(all.outputs)
  })
})

describe('platforms: linux/arm64,linux/sparc', () => {
  let r: RunResult
  beforeAll(async () => {
    clearEntries()
    r = await run('unknown-word', 'linux/arm64,linux/sparc')
  })
  afterAll(() => clearEntries())

  it('the step fails', () => expect(r.rc).toBe(1))
  it('the error names the word and lists the accepted ones', () => {
    expect(errors(r)).toContain('unknown platform "linux/sparc"')
    expect(errors(r)).toMatch(/Accepted: all, .*linux\/arm64.*riscv64/)
  })
  it('nothing is registered', () => expect(entries()).toEqual([]))
})
