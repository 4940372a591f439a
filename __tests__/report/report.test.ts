import { describe, expect, it } from '@jest/globals'
import { byArch } from '../../src/platforms.js'
import { outputsFor } from '../../src/report/report.js'
import type { Verdict } from '../../src/verify/verify.js'

describe('outputs', () => {
  const v = (arch: string, okay: boolean, native = false): Verdict => ({
    platform: byArch(arch),
    native,
    ok: okay,
    how: 'test',
    reason: okay ? undefined : 'no handler'
  })

  it('lists native first, then emulated, in buildx form, and only what passed', () => {
    const o = outputsFor(
      [v('s390x', true), v('arm', true), v('arm64', true), v('riscv64', false)],
      [byArch('amd64'), byArch('386')],
      '10.2.3'
    )
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
