import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { addUnreleased, changelogSections, releaseNotes } from '../../scripts/ci/changelog.mjs'
import { main, movesMajor, parseReleaseTag, releaseProblems } from '../../scripts/ci/release.mjs'
import { captured, readRepo as read, tempDir } from './helpers.js'

const CHANGELOG = `# Changelog

Intro text, not a section.

## [Unreleased]

### Added

- Something merged.

## [1.1.0] - 2026-12-01

### Fixed

- A fix.

\`\`\`
## [9.9.9] - 2026-01-01 inside a fence is text
\`\`\`

## [1.0.0] - 2026-11-28

First.

## [0.9.0]

No date.

## [0.8.0] - 2026-01-01

[Unreleased]: https://example.com/compare/v1.1.0...HEAD
[1.1.0]: https://example.com/compare/v1.0.0...v1.1.0
`

describe('CHANGELOG.md sections', () => {
  it('lists each "## [name] - date" heading with its body, not fenced text or link definitions', () => {
    expect(changelogSections(CHANGELOG).map(s => [s.name, s.date])).toEqual([
      ['Unreleased', undefined],
      ['1.1.0', '2026-12-01'],
      ['1.0.0', '2026-11-28'],
      ['0.9.0', undefined],
      ['0.8.0', '2026-01-01']
    ])
  })

  it("gives a version's body as its release notes, with or without the v", () => {
    expect(releaseNotes(CHANGELOG, 'v1.1.0')).toBe(
      '### Fixed\n\n- A fix.\n\n```\n## [9.9.9] - 2026-01-01 inside a fence is text\n```\n'
    )
    expect(releaseNotes(CHANGELOG, '1.0.0')).toBe('First.\n')
  })

  it('refuses a version with no section, no date or an empty body', () => {
    expect(() => releaseNotes(CHANGELOG, '2.0.0')).toThrow('has no "## [2.0.0] - YYYY-MM-DD" section')
    expect(() => releaseNotes(CHANGELOG, '0.9.0')).toThrow('has no date')
    expect(() => releaseNotes(CHANGELOG, '0.8.0')).toThrow('is empty')
  })

  it('adds an Unreleased entry under its kind, making the heading when needed', () => {
    let md = addUnreleased(CHANGELOG, 'Added', 'Another.')
    md = addUnreleased(md, 'Changed', 'QEMU 10.2.4.')
    expect(changelogSections(md)[0].body).toBe('### Added\n\n- Something merged.\n- Another.\n\n### Changed\n\n- QEMU 10.2.4.')
    expect(releaseNotes(md, '1.1.0')).toBe(releaseNotes(CHANGELOG, '1.1.0'))
    const empty = '# Changelog\n\n## [Unreleased]\n\nNothing yet.\n\n## [1.0.0] - 2026-11-28\n\nFirst.\n'
    expect(addUnreleased(empty, 'Changed', 'X.')).toBe(
      '# Changelog\n\n## [Unreleased]\n\n### Changed\n\n- X.\n\n## [1.0.0] - 2026-11-28\n\nFirst.\n'
    )
    expect(() => addUnreleased('# Changelog\n', 'Changed', 'X.')).toThrow('no "## [Unreleased]"')
  })

  it("holds this repository's 1.0.0 notes, and an Unreleased section", () => {
    const md = read('CHANGELOG.md')
    expect(releaseNotes(md, '1.0.0')).toMatch(/native-format guard fails closed/)
    expect(changelogSections(md)[0].name).toBe('Unreleased')
  })
})

describe('release tags', () => {
  it('are vX.Y.Z and nothing else', () => {
    expect(parseReleaseTag('v1.2.3')).toEqual({ version: '1.2.3', major: 'v1', parts: [1, 2, 3] })
    for (const bad of ['1.2.3', 'v1.2', 'v1.2.3-rc.1', 'v01.2.3', 'v1', 'release-1.2.3'])
      expect(() => parseReleaseTag(bad)).toThrow('not a release tag')
  })

  it('move the major tag only to the highest release of that major', () => {
    const tags = ['v1', 'v1.0.0', 'v1.1.0', 'v1.1.1', 'v2', 'v2.0.0', 'not-a-version']
    expect(movesMajor('v1.1.2', tags)).toBe(true)
    expect(movesMajor('v1.1.1', tags)).toBe(true)
    expect(movesMajor('v1.0.1', tags)).toBe(false)
    expect(movesMajor('v2.0.1', tags)).toBe(true)
    expect(movesMajor('v3.0.0', [])).toBe(true)
  })

  it('need package.json and CHANGELOG.md to agree', () => {
    const packageJson = JSON.stringify({ version: '1.1.0' })
    expect(releaseProblems({ tag: 'v1.1.0', packageJson, changelog: CHANGELOG })).toEqual([])
    expect(releaseProblems({ tag: 'v1.1.1', packageJson, changelog: CHANGELOG })).toEqual([
      expect.stringContaining('package.json says version 1.1.0, the tag says 1.1.1'),
      expect.stringContaining('no "## [1.1.1]')
    ])
    expect(releaseProblems({ tag: 'v1.1', packageJson, changelog: CHANGELOG })).toEqual([
      expect.stringContaining('not a release tag')
    ])
  })

  it('v1.0.0 is releasable from this repository as it stands', () => {
    expect(releaseProblems({ tag: 'v1.0.0', packageJson: read('package.json'), changelog: read('CHANGELOG.md') })).toEqual([])
  })
})

describe('release.mjs as the workflow runs it', () => {
  it('plan writes the notes and the outputs', async () => {
    const { dir, remove } = tempDir()
    fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), CHANGELOG)
    fs.writeFileSync(path.join(dir, 'tags.txt'), 'v1\nv1.0.0\nv1.2.0\n')
    const output = path.join(dir, 'output')
    const previous = process.env.GITHUB_OUTPUT
    process.env.GITHUB_OUTPUT = output
    try {
      const { result, lines } = await captured(() =>
        main(['plan', '--tag', 'v1.1.0', '--tags-file', path.join(dir, 'tags.txt'), '--notes', path.join(dir, 'notes.md')], dir)
      )
      expect(result).toBe(0)
      expect(lines).toContain('::notice::v1 stays: a higher v1.x.y release exists')
    } finally {
      if (previous === undefined) delete process.env.GITHUB_OUTPUT
      else process.env.GITHUB_OUTPUT = previous
    }
    expect(fs.readFileSync(path.join(dir, 'notes.md'), 'utf8')).toBe(releaseNotes(CHANGELOG, '1.1.0'))
    expect(fs.readFileSync(output, 'utf8')).toBe('version=1.1.0\nmajor=v1\nmove-major=false\n')
    remove()
  })

  it('check fails with one ::error:: per problem', async () => {
    const { dir, remove } = tempDir()
    fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), CHANGELOG)
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ version: '1.0.0' }))
    const { result, lines } = await captured(() => main(['check', '--tag', 'v2.0.0'], dir))
    expect(result).toBe(1)
    expect(lines.filter(l => l.startsWith('::error::'))).toHaveLength(2)
    remove()
  })
})
