import { describe, expect, it } from '@jest/globals'
import {
  FILES,
  KNOWN_BAD_FILE,
  addKnownBad,
  formatKnownBad,
  mentions,
  readKnownBad,
  readPins,
  replaceRef,
  replaceVersion,
  rewriteConstants,
  rewriteReleases,
  runnerTarballArch,
  splitRef
} from '../../scripts/ci/pins.mjs'
import { KNOWN_BAD_QEMU } from '../../src/acquire/known-bad-qemu.js'
import { fixture, readRepo } from './helpers.js'

const IMAGE =
  'docker.io/tonistiigi/binfmt:qemu-v10.2.3-68@sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0'
const HELPER = 'docker.io/library/busybox:1.37.0@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e'
const NEW_IMAGE = `docker.io/tonistiigi/binfmt:qemu-v10.2.4-70@sha256:${'1'.repeat(64)}`
const NEW_HELPER = `docker.io/library/busybox:1.37.0@sha256:${'2'.repeat(64)}`
const source = { constants: fixture('constants.ts.txt'), releases: fixture('releases.ts.txt') }

describe('readPins', () => {
  it('reads the image, helper, version, URL template and table from the source text', () => {
    expect(readPins(source)).toEqual({
      image: IMAGE,
      helper: HELPER,
      version: '10.2.3-68',
      url: 'https://github.com/tonistiigi/binfmt/releases/download/deploy/v{version}/qemu_v10.2.3_linux-{arch}.tar.gz',
      table: [{ version: '10.2.3-68', arch: 'amd64', sha256: '8e7d8f4c0c7809fc3fea0085199fd6b16f671e7c73d9bf6bec711e1cb535920a' }]
    })
  })

  it('reads the real src/constants.ts and src/acquire/releases.ts, and rewriting them with their own pins changes nothing', () => {
    const real = { constants: readRepo(FILES.constants), releases: readRepo(FILES.releases) }
    const pins = readPins(real)
    expect(pins.table.length).toBeGreaterThan(0)
    expect(rewriteConstants(real.constants, pins)).toBe(real.constants)
    expect(rewriteReleases(real.releases, pins)).toBe(real.releases)
  })

  it('fails loudly when a pin is not where the format says', () => {
    expect(() =>
      readPins({ ...source, constants: source.constants.replace('export const DEFAULT_IMAGE =', 'export const IMAGE =') })
    ).toThrow('src/constants.ts: found DEFAULT_IMAGE 0 times, expected once')
    expect(() =>
      readPins({ ...source, releases: source.releases.replace("arch: 'amd64',", "arch: 'amd64', note: 'x',") })
    ).toThrow('cannot read this RELEASES row')
    expect(() => readPins({ ...source, constants: source.constants.replace(/@sha256:[0-9a-f]+'/, "'") })).toThrow(
      'is not pinned by digest'
    )
  })
})

describe('the rewrites', () => {
  it('replace the two image references in src/constants.ts and nothing else', () => {
    const out = rewriteConstants(source.constants, { image: NEW_IMAGE, helper: NEW_HELPER })
    expect(out).toBe(source.constants.replace(IMAGE, NEW_IMAGE).replace(HELPER, NEW_HELPER))
    expect(() => rewriteConstants(source.constants, { image: 'docker.io/tonistiigi/binfmt:latest', helper: NEW_HELPER })).toThrow(
      'not pinned by digest'
    )
  })

  it('replace the version, URL template and whole table in src/acquire/releases.ts', () => {
    const table = [
      { version: '10.2.4-70', arch: 'amd64', sha256: 'a'.repeat(64) },
      { version: '10.2.4-70', arch: 'arm64', sha256: 'b'.repeat(64) }
    ]
    const url = 'https://github.com/tonistiigi/binfmt/releases/download/deploy/v{version}/qemu_v10.2.4_linux-{arch}.tar.gz'
    const out = rewriteReleases(source.releases, { version: '10.2.4-70', url, table })
    expect(out).toContain("export const DEFAULT_VERSION = '10.2.4-70'\n")
    expect(out).toContain(`export const DEFAULT_URL =\n  '${url}'\n`)
    expect(out).toContain(
      `export const RELEASES: readonly Release[] = [\n  { version: '10.2.4-70', arch: 'amd64', sha256: '${'a'.repeat(64)}' },\n` +
        `  { version: '10.2.4-70', arch: 'arm64', sha256: '${'b'.repeat(64)}' }\n]\n`
    )
    expect(readPins({ constants: source.constants, releases: out })).toMatchObject({ version: '10.2.4-70', url, table })
    // everything around the pins is kept
    const strip = (t: string) =>
      t.replace(/export const (DEFAULT_VERSION|DEFAULT_URL)[^\n]*\n( {2}'[^\n]*\n)?/g, '').replace(/RELEASES[\s\S]*?\n\]/, '')
    expect(strip(out)).toBe(strip(source.releases))
  })

  it('refuse rows that would not be valid source', () => {
    const url = 'https://example.com/{version}/{arch}'
    expect(() => rewriteReleases(source.releases, { version: '1-1', url, table: [] })).toThrow('empty')
    expect(() =>
      rewriteReleases(source.releases, { version: '1-1', url, table: [{ version: "1'", arch: 'amd64', sha256: 'a'.repeat(64) }] })
    ).toThrow('not a table row')
    expect(() =>
      rewriteReleases(source.releases, { version: '1-1', url, table: [{ version: '1-1', arch: 'amd64', sha256: 'XYZ' }] })
    ).toThrow('not a table row')
  })

  it('replace references in action.yml and the README, full and abbreviated', () => {
    const action = fixture('action.yml.txt')
    const a = replaceRef(replaceRef(action, IMAGE, NEW_IMAGE).text, HELPER, NEW_HELPER)
    expect(a.text).toContain(`default: '${NEW_IMAGE}'`)
    expect(a.text).toContain(`default: '${NEW_HELPER}'`)
    const readme = fixture('README.excerpt.md')
    const image = replaceRef(readme, IMAGE, NEW_IMAGE)
    expect(image.count).toBe(2)
    expect(image.text).toContain('`docker.io/tonistiigi/binfmt:qemu-v10.2.4-70@sha256:1111…1111`')
    expect(image.text).toContain(`image: ${NEW_IMAGE}\n`)
    const helper = replaceRef(image.text, HELPER, NEW_HELPER)
    expect(helper.count).toBe(1)
    expect(helper.text).toContain('`docker.io/library/busybox:1.37.0@sha256:2222…22222`')
    expect(replaceRef(readme, IMAGE, IMAGE)).toEqual({ text: readme, count: 0 })
    // a short form that is not of the old digest stays
    expect(
      replaceRef('x@sha256:1234…5678 docker.io/tonistiigi/binfmt:qemu-v10.2.3-68@sha256:4001…66f0', IMAGE, NEW_IMAGE).count
    ).toBe(0)
  })

  it('replace the build version where it stands alone, and list the lines that name the old QEMU version', () => {
    const readme = replaceRef(fixture('README.excerpt.md'), IMAGE, NEW_IMAGE).text
    const r = replaceVersion(readme, '10.2.3-68', '10.2.4-70')
    expect(r.count).toBe(4)
    expect(r.text).toContain('pinned release (`10.2.4-70`), the tag deploy/v10.2.4-70;')
    expect(r.text).toContain('https://artifacts.example.com/binfmt/10.2.4-70/qemu_linux-amd64.tar.gz')
    expect(r.text).toContain("Not a version: 10.2.3-680, 110.2.3-68, 10.2.3-68.1; at a sentence's end, v10.2.4-70.")
    expect(mentions(r.text, '10.2.3')).toEqual([8])
  })
})

describe('splitRef and runnerTarballArch', () => {
  it('split a pinned reference, and map RUNNER_ARCH to the tarballs naming', () => {
    expect(splitRef(HELPER)).toEqual({ name: 'docker.io/library/busybox:1.37.0', digest: HELPER.split('@')[1] })
    expect(['X64', 'ARM64', 'ARM', 'X86', 'RISCV'].map(runnerTarballArch)).toEqual(['amd64', 'arm64', 'arm-v7', '386', undefined])
  })
})

describe('the known-bad QEMU table', () => {
  const real = readRepo(KNOWN_BAD_FILE)
  const row = {
    from: '11.0.0',
    below: '11.0.2',
    severity: 'warning' as const,
    reason: "QEMU 11.0.0 and 11.0.1 break someone's build",
    link: 'https://github.com/example/qemu/issues/1'
  }

  it('reads, row by row, what the action itself uses', () => expect(readKnownBad(real)).toEqual(KNOWN_BAD_QEMU))

  it('takes a row at the end, in the same format, and reads it back', () => {
    const out = addKnownBad(real, row)
    expect(readKnownBad(out)).toEqual([...KNOWN_BAD_QEMU, row])
    expect(out).toContain(`${formatKnownBad(row)}\n]`)
    expect(out.replace(`,\n${formatKnownBad(row)}`, '')).toBe(real)
  })

  it('refuses a row twice, and rows that are not well-formed', () => {
    expect(() => addKnownBad(addKnownBad(real, row), row)).toThrow(
      'already has a row for https://github.com/example/qemu/issues/1'
    )
    expect(() => addKnownBad(real, { ...row, below: '11' })).toThrow('below must be a QEMU version X.Y.Z')
    expect(() => addKnownBad(real, { ...row, link: 'http://x' })).toThrow('link must be an https URL')
    expect(() => addKnownBad(real, { ...row, severity: 'fatal' as 'warning' })).toThrow('severity must be warning or notice')
    expect(() => addKnownBad(real, { ...row, from: undefined, below: undefined })).toThrow('give from, below or both')
  })
})
