import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { byArch } from '../../src/platform/platforms.js'
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

  it('puts the variants the CPU runs right after their platform', () => {
    const o = outputsFor([v('arm64', true)], [byArch('amd64'), byArch('386')], undefined, ['linux/amd64/v2', 'linux/amd64/v3'])
    expect(o.platforms).toBe('linux/amd64,linux/amd64/v2,linux/amd64/v3,linux/386,linux/arm64')
    expect(o.emulated).toBe('linux/arm64')
  })
})

const SUMMARY = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'summary-')), 'summary.md')

describe('the job summary', () => {
  it('is a table of text: what came from the kernel is never markup', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs')
    const { writeSummary } = await import('../../src/report/report.js')
    // the toolkit keeps the file it first wrote to: one for the whole file, emptied for each test
    const file = SUMMARY
    writeFileSync(file, '')
    const saved = process.env.GITHUB_STEP_SUMMARY
    process.env.GITHUB_STEP_SUMMARY = file
    try {
      const arm64 = byArch('arm64')
      const verdict: Verdict = {
        platform: arm64,
        native: false,
        ok: false,
        how: 'probe on the host',
        reason: 'handler without F: <img src=x onerror=alert(1)>\r::warning::x'
      }
      await writeSummary(
        [verdict],
        [{ platform: arm64, action: 'keep', reason: 'kept the healthy entry there (/x<script>)' }],
        [byArch('amd64')],
        { platforms: 'linux/amd64', emulated: '', failed: 'linux/arm64', qemuVersion: '' },
        {
          dir: '/d',
          archs: new Set(['arm64']),
          key: 'k',
          origin: 'image',
          from: 'registry.example/binfmt<b>:1',
          version: '10<i>'
        },
        'helper container (--cap-add SYS_ADMIN)'
      )
    } finally {
      process.env.GITHUB_STEP_SUMMARY = saved
    }
    const html = readFileSync(file, 'utf8')
    expect(html).toContain('<td>linux/amd64</td><td>native</td>')
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;\\x0d::warning::x')
    expect(html).toContain('/x&#60;script&#62;')
    expect(html).toContain('<code>registry.example/binfmt&#60;b&#62;:1</code>')
    expect(html).not.toMatch(/<(img|script|b|i)\b/)
    expect(html).not.toContain('\r')
  })
})

describe('the job summary of a run that registered from the runner', () => {
  it('says the emulators serve the runner, its chroots and its containers alike', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs')
    const { writeSummary } = await import('../../src/report/report.js')
    // the toolkit keeps the file it first wrote to: one for the whole file, emptied for each test
    const file = SUMMARY
    writeFileSync(file, '')
    const saved = process.env.GITHUB_STEP_SUMMARY
    process.env.GITHUB_STEP_SUMMARY = file
    try {
      const arm64 = byArch('arm64')
      await writeSummary(
        [{ platform: arm64, native: false, ok: true, how: 'host probe + probe chrooted into an empty directory' }],
        [{ platform: arm64, action: 'add', reason: 'not registered yet' }],
        [byArch('amd64')],
        { platforms: 'linux/amd64,linux/arm64', emulated: 'linux/arm64', failed: '', qemuVersion: '' },
        undefined,
        'the runner itself, with sudo -n tee',
        'registered from the runner itself: the emulated platforms work for programs on this runner, in its chroots and in its containers alike'
      )
    } finally {
      process.env.GITHUB_STEP_SUMMARY = saved
    }
    const html = readFileSync(file, 'utf8')
    expect(html).toContain('<li>Registered through: the runner itself, with sudo -n tee</li>')
    expect(html).toContain(
      '<li>Registered from the runner itself: the emulated platforms work for programs on this runner, in its chroots and in its containers alike</li>'
    )
  })
})

describe('whether the step fails', () => {
  const v = (arch: string, okay: boolean, native = false): Verdict => ({ platform: byArch(arch), native, ok: okay, how: 'test' })
  it('fails for a named platform, not for one only all brought in while another emulated one works', async () => {
    const { stepFailure } = await import('../../src/report/report.js')
    const all = (): boolean => false
    const named = (p: { arch: string }): boolean => p.arch === 'riscv64'
    expect(stepFailure([v('arm64', true), v('riscv64', false)], all)).toBeUndefined()
    expect(stepFailure([v('arm64', true), v('riscv64', false)], named)).toMatch(
      /^1 of 2 requested platforms do not work: linux\/riscv64\./
    )
    expect(stepFailure([v('amd64', true, true), v('riscv64', false)], all)).toMatch(
      /^no emulated platform works here: linux\/riscv64 failed/
    )
    expect(stepFailure([v('amd64', true, true)], all)).toBeUndefined()
  })
})
