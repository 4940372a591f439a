import { describe, expect, it } from '@jest/globals'
import { main, outputProblems } from '../../scripts/ci/check-outputs.mjs'
import { captured } from './helpers.js'

const x64 = {
  platforms: 'linux/amd64,linux/386,linux/arm64,linux/arm/v7,linux/s390x',
  emulated: 'linux/arm64,linux/arm/v7,linux/s390x',
  failed: '',
  version: '10.2.3'
}

describe('the end-to-end check of the outputs', () => {
  it('passes outputs that list the native platform first and every expectation', () => {
    expect(
      outputProblems(x64, {
        runnerArch: 'X64',
        emulated: ['linux/arm64', 'linux/s390x'],
        present: ['linux/arm/v7', 'linux/amd64']
      })
    ).toEqual([])
    expect(outputProblems(x64, { runnerArch: 'X64', sameAs: x64.platforms })).toEqual([])
  })

  it('names each problem', () => {
    const bad = {
      platforms: 'linux/arm64,linux/amd64',
      emulated: 'linux/arm64,linux/riscv64',
      failed: 'linux/ppc64le',
      version: ''
    }
    expect(
      outputProblems(bad, { runnerArch: 'X64', emulated: ['linux/s390x'], present: ['linux/arm/v7'], sameAs: 'linux/amd64' })
    ).toEqual([
      'the native platform linux/amd64 is not first in platforms (linux/arm64,linux/amd64)',
      'linux/riscv64 is emulated but not in platforms',
      'linux/s390x is missing from emulated (linux/arm64,linux/riscv64)',
      'linux/arm/v7 is missing from platforms (linux/arm64,linux/amd64)',
      'failed is not empty: linux/ppc64le',
      'qemu-version is empty',
      'platforms changed between runs: linux/amd64 then linux/arm64,linux/amd64'
    ])
    expect(outputProblems(x64, { runnerArch: 'RISCV64' })).toEqual(['unknown RUNNER_ARCH "RISCV64"'])
  })

  it('reads the outputs from the environment, as the workflow passes them', async () => {
    const env = {
      RUNNER_ARCH: 'ARM64',
      PLATFORMS: 'linux/arm64,linux/amd64,linux/s390x',
      EMULATED: 'linux/amd64,linux/s390x',
      FAILED: '',
      VERSION: '10.2.3'
    }
    expect((await captured(() => main(['--emulated', 'linux/amd64,linux/s390x', '--present', 'linux/arm64'], env))).result).toBe(
      0
    )
    const failing = await captured(() => main(['--emulated', 'linux/riscv64'], env))
    expect(failing.result).toBe(1)
    expect(failing.lines).toContain('::error::linux/riscv64 is missing from emulated (linux/amd64,linux/s390x)')
    expect((await captured(() => main(['--bogus', 'x'], env))).result).toBe(2)
  })
})
