/**
 * An image whose qemu-riscv64 is a real program that runs and fails (Debian's busybox-static for this
 * host: as qemu-riscv64 it says "applet not found" and exits 127). The probe tells it from a missing
 * emulator: the reason is the emulator's own error, not a file that cannot be opened. With `all` it is a
 * warning and the others still work; named, it fails the step.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import type { RunResult } from '../../scripts/runner.mjs'
import {
  BM,
  HELPER,
  act,
  clearEntries,
  emulatedOf,
  entries,
  env,
  isNative,
  platformsOf,
  toolCache,
  useHost,
  TABLE
} from './host.js'

useHost()

const TC = toolCache('broken-emulator')
// through the helper, whose path for the emulators is known before the run: the entries name it
const BROKEN = { image: env.BROKEN_RISCV64_IMAGE, 'helper-image': env.HELPER_IMAGE, ...HELPER }
const RISCV64 = 'linux/riscv64'
/** Where the helper showed this image's emulators, and so the interpreter of the entries this step writes. */
const KEY = /@sha256:([a-f0-9]{12})/.exec(env.BROKEN_RISCV64_IMAGE)?.[1] ?? ''
const OWN_INTERPRETER = `/run/setup-qemu/${KEY}/qemu-riscv64`
// every platform the image has a working emulator for: all but amd64 (it has no qemu-x86_64) and riscv64
const WORKING = TABLE.filter(p => p !== 'linux/amd64' && p !== RISCV64)

/** The annotations of one kind (error, warning) that name a platform, one line each. */
const annotations = (r: RunResult, kind: 'error' | 'warning', platform: string): string[] =>
  r.mainLog.split('\n').filter(l => l.startsWith(`::${kind}`) && l.includes(`::${platform}:`))

/** The interpreter of the qemu-riscv64 entry, or undefined when there is none. */
function riscv64Interpreter(): string | undefined {
  const file = `${BM}/qemu-riscv64`
  if (!fs.existsSync(file)) return undefined
  return /^interpreter (.*)$/m.exec(fs.readFileSync(file, 'utf8'))?.[1]
}

const run = (name: string, platforms: string): Promise<RunResult> => {
  clearEntries()
  return act(name, { platforms, ...BROKEN }, { env: { RUNNER_TOOL_CACHE: TC } })
}

if (isNative(RISCV64)) {
  it.skip('riscv64 is native here: its emulator is never registered', () => undefined)
} else {
  describe('platforms: all, with a qemu-riscv64 that runs and fails', () => {
    let r: RunResult
    let interpreter: string | undefined
    beforeAll(async () => {
      r = await run('broken-all', 'all')
      interpreter = riscv64Interpreter()
    })
    afterAll(() => clearEntries())

    it('the step passes', () => expect(r.rc).toBe(0))
    it('output failed is linux/riscv64', () => expect(r.outputs.failed).toBe(RISCV64))
    it('output platforms has arm64 and not riscv64', () => {
      expect(r.outputs.platforms.split(',')).toContain('linux/arm64')
      expect(r.outputs.platforms.split(',')).not.toContain(RISCV64)
      expect(r.outputs.platforms).toBe(platformsOf(...WORKING))
    })
    it('output emulated has the others and not riscv64', () => {
      expect(r.outputs.emulated.split(',')).not.toContain(RISCV64)
      if (!isNative('linux/arm64')) expect(r.outputs.emulated.split(',')).toContain('linux/arm64')
      expect(r.outputs.emulated).toBe(emulatedOf(...WORKING))
    })
    it('one warning names linux/riscv64: the emulator ran and exited with its own error, status 127', () => {
      const warnings = annotations(r, 'warning', RISCV64)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`the emulator ${OWN_INTERPRETER} ran and exited with its own error (exit code 127,`)
    })
    it('the reason is not a missing emulator', () =>
      expect(annotations(r, 'warning', RISCV64).join('\n')).not.toMatch(
        /cannot be opened|cannot be started|missing|does not exist/
      ))
    it('it is not an error', () => expect(annotations(r, 'error', RISCV64)).toEqual([]))
    // main registers, then verifies, and does not take back an entry that fails its probe: the entry it
    // wrote for riscv64 is still there, pointing at this image's broken emulator (cleanup: true would
    // remove it in the post step)
    it("the step's own qemu-riscv64 entry is left registered after it", () => expect(interpreter).toBe(OWN_INTERPRETER))
  })

  describe('platforms: riscv64 (named)', () => {
    let r: RunResult
    let interpreter: string | undefined
    beforeAll(async () => {
      r = await run('broken-named', 'riscv64')
      interpreter = riscv64Interpreter()
    })
    afterAll(() => clearEntries())

    it('the step fails', () => expect(r.rc).toBe(1))
    it('an error names linux/riscv64, with the emulator exit status', () => {
      const errs = annotations(r, 'error', RISCV64)
      expect(errs).toHaveLength(1)
      expect(errs[0]).toContain('ran and exited with its own error (exit code 127,')
    })
    it('output failed is linux/riscv64', () => expect(r.outputs.failed).toBe(RISCV64))
    it("the step's own qemu-riscv64 entry is left registered after it", () => expect(interpreter).toBe(OWN_INTERPRETER))
  })

  describe('platforms: arm64,riscv64', () => {
    let r: RunResult
    let interpreter: string | undefined
    let after: string[]
    beforeAll(async () => {
      r = await run('broken-pair', 'arm64,riscv64')
      interpreter = riscv64Interpreter()
      after = entries()
    })
    afterAll(() => clearEntries())

    it('the step fails', () => expect(r.rc).toBe(1))
    it('an error names linux/riscv64', () => expect(annotations(r, 'error', RISCV64)).toHaveLength(1))
    it('arm64 is still set up and reported', () => {
      expect(r.outputs.emulated).toBe(emulatedOf('linux/arm64'))
      if (!isNative('linux/arm64')) expect(after).toContain('qemu-aarch64')
    })
    it('output failed is linux/riscv64', () => expect(r.outputs.failed).toBe(RISCV64))
    it("the step's own qemu-riscv64 entry is left registered after it", () => expect(interpreter).toBe(OWN_INTERPRETER))
  })
}
