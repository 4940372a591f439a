/**
 * Emulators of a QEMU known to break current userlands: the e2e images hold Debian's qemu-user-static
 * (7.2 on Debian 12, see test/e2e/setup.sh). The step warns once, naming that version, the first fixed
 * one (10.1.3) and the pin to use instead, and still sets the platform up. The same step again, which
 * registers nothing, says nothing of it.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import type { RunResult } from '../../scripts/runner.mjs'
import { knownBadMessages } from '../../src/acquire/known-bad-qemu.js'
import { IMG, act, clearEntries, emulatedOf, toolCache, useHost } from './host.js'

useHost()

const TC = toolCache('known-bad-qemu')
/** The version the emulators in the e2e images report, as the action reads it. */
const VERSION = /version ([0-9][^ \n]*)/.exec(
  execFileSync('/usr/bin/qemu-aarch64-static', ['--version'], { encoding: 'utf8' })
)?.[1]
const warnings = (r: RunResult): string[] => r.mainLog.split('\n').filter(l => l.startsWith('::warning'))

describe(`emulators that report QEMU ${VERSION}`, () => {
  let r: RunResult
  let again: RunResult
  beforeAll(async () => {
    clearEntries()
    r = await act('known-bad', { platforms: 'arm64', ...IMG }, { env: { RUNNER_TOOL_CACHE: TC } })
    again = await act('known-bad-again', { platforms: 'arm64', ...IMG }, { env: { RUNNER_TOOL_CACHE: TC } })
  })

  it('are a version the table warns about on this machine (Debian 12 has 7.2)', () => {
    expect(VERSION).toMatch(/^7\.2\./)
    expect(knownBadMessages(VERSION, 'image').warning).toBeDefined()
  })
  it('main passes: a known-bad QEMU never fails the step', () => expect(r.rc).toBe(0))
  it('one warning, which names the version, 10.1.3, the upstream issue and the pin to use instead', () => {
    expect(warnings(r)).toHaveLength(1)
    expect(warnings(r)[0]).toContain(
      `::warning title=QEMU ${VERSION}::the emulators are QEMU ${VERSION}, which is known to break builds`
    )
    expect(warnings(r)[0]).toContain('10.1.3')
    expect(warnings(r)[0]).toContain('https://github.com/tonistiigi/binfmt/issues/285')
    expect(warnings(r)[0]).toContain('pin image: docker.io/tonistiigi/binfmt:qemu-v')
  })
  it('no notice', () => expect(r.mainLog).not.toContain('::notice'))
  it('the platform is set up all the same', () => expect(r.outputs.emulated).toBe(emulatedOf('linux/arm64')))
  it('output qemu-version is that version', () => expect(r.outputs['qemu-version']).toBe(VERSION))
  it('the same step again registers nothing and says nothing of it', () => {
    expect(again.rc).toBe(0)
    expect(again.mainLog).toContain('nothing to fetch')
    expect(warnings(again)).toEqual([])
  })
})
