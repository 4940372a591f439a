import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import { DEFAULT_IMAGE } from '../../src/constants.js'
import { KNOWN_BAD_QEMU, knownBadFor, knownBadMessages, reportKnownBad } from '../../src/acquire/known-bad-qemu.js'
import { DEFAULT_VERSION } from '../../src/acquire/releases.js'
import { captureOutput } from '../helpers/output.js'

const LINKS = {
  openat2: 'https://github.com/tonistiigi/binfmt/issues/285',
  libcBin: 'https://github.com/docker/setup-qemu-action/issues/198',
  threads: 'https://github.com/tonistiigi/binfmt/issues/72',
  systemd: 'https://github.com/tonistiigi/binfmt/issues/316'
}

describe('which versions are known to be bad', () => {
  it.each([
    ['7.2.19', [LINKS.openat2]],
    ['7.2', [LINKS.openat2]],
    ['7.0.0', [LINKS.openat2]],
    ['8.2.2', [LINKS.openat2]],
    ['9.2.2', [LINKS.openat2]],
    ['10.1.2', [LINKS.openat2]],
    ['9.2.0', [LINKS.openat2, LINKS.libcBin]],
    ['6.1.0', [LINKS.openat2, LINKS.threads]],
    ['10.2.0', [LINKS.systemd]],
    ['10.2.3', [LINKS.systemd]],
    ['10.1.3', []],
    ['10.3.0', []],
    ['11.0.0', []],
    ['not a version', []]
  ])('%s: %j', (version, links) => expect(knownBadFor(version).map(r => r.link)).toEqual(links))

  it('knows nothing of emulators that did not say their version', () => expect(knownBadFor(undefined)).toEqual([]))

  it('has a range, a reason and an upstream link in every row', () => {
    for (const r of KNOWN_BAD_QEMU) {
      expect(r.from !== undefined || r.below !== undefined).toBe(true)
      expect(r.reason.length).toBeGreaterThan(20)
      expect(r.link).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+\/issues\/\d+$/)
    }
  })

  it("never warns about the emulators this action pins: what it tells users to pin must not be in the table's warnings", () => {
    const pinned = DEFAULT_VERSION.replace(/-\d+$/, '')
    expect(DEFAULT_IMAGE).toContain(`qemu-v${DEFAULT_VERSION}@`)
    expect(knownBadFor(pinned).filter(r => r.severity === 'warning')).toEqual([])
  })
})

describe('what the step says', () => {
  it('7.2: one warning that names 7.2, the openat2 break below 10.1.3, its link and the pin to use instead', () => {
    const { warning, notice } = knownBadMessages('7.2.19', 'image')
    expect(notice).toBeUndefined()
    expect(warning).toMatch(/^the emulators are QEMU 7\.2\.19, which is known to break builds: QEMU before 10\.1\.3 fails/)
    expect(warning).toContain('openat2')
    expect(warning).toContain(LINKS.openat2)
    expect(warning).toContain(`pin image: ${DEFAULT_IMAGE}, this action's default`)
    expect(warning).toContain('They are registered all the same.')
  })

  it('with source: download, says to leave the download inputs empty for the pinned tarball', () => {
    expect(knownBadMessages('8.2.2', 'download').warning).toContain(
      `leave download-url and download-sha256 empty, for the QEMU ${DEFAULT_VERSION} tarball this action pins`
    )
  })

  it('9.2.0: still one warning, with both reasons and both links', () => {
    const { warning } = knownBadMessages('9.2.0', 'image')
    expect(warning).toContain(LINKS.openat2)
    expect(warning).toContain(LINKS.libcBin)
    expect(warning).toContain('qemu-v9.2.0-51')
  })

  it('10.2.3: only the notice, which names systemd 260 and the open upstream issue', () => {
    const { warning, notice } = knownBadMessages('10.2.3', 'image')
    expect(warning).toBeUndefined()
    expect(notice).toMatch(/^the emulators are QEMU 10\.2\.3, which has a known problem in some builds: .*systemd 260/)
    expect(notice).toContain(LINKS.systemd)
    expect(notice).toContain('native runner')
  })

  it('nothing for a version with no known problem, or none at all', () => {
    expect(knownBadMessages('10.1.3', 'image')).toEqual({ warning: undefined, notice: undefined })
    expect(knownBadMessages(undefined, 'image')).toEqual({ warning: undefined, notice: undefined })
  })
})

describe('the annotations', () => {
  const output = captureOutput()
  const annotations = (): string[] => output.lines().filter(l => /^::(warning|notice|error)/.test(l))

  it('7.2 gives exactly one, a warning naming 7.2 and 10.1.3; the step is not failed', () => {
    reportKnownBad('7.2.19', 'image')
    expect(annotations()).toHaveLength(1)
    expect(annotations()[0]).toMatch(/^::warning title=QEMU 7\.2\.19::the emulators are QEMU 7\.2\.19, .*10\.1\.3/)
    expect(process.exitCode ?? 0).toBe(0)
  })

  it('10.2.3 gives exactly one, a notice', () => {
    reportKnownBad('10.2.3', 'download')
    expect(annotations()).toHaveLength(1)
    expect(annotations()[0]).toMatch(/^::notice title=QEMU 10\.2\.3::/)
  })

  it('a version with no known problem gives none', () => {
    reportKnownBad('10.1.3', 'image')
    expect(annotations()).toEqual([])
  })

  it('the table is where the header says update-pins reads it', () =>
    expect(fs.readFileSync('src/acquire/known-bad-qemu.ts', 'utf8')).toContain('scripts/ci/pins.mjs (readKnownBad, addKnownBad)'))
})
