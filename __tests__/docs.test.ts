/**
 * The documents a user and a contributor read: the README fits in one sitting and names every input and
 * output, every link within the repository leads somewhere (a file, and a heading where it names one),
 * and the known-bad QEMU table is in the troubleshooting page.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { KNOWN_BAD_QEMU } from '../src/acquire/known-bad-qemu.js'
import { Input, Output } from '../src/constants.js'

const ROOT = path.resolve('.')
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8')

const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  'CHANGELOG.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter(f => f.endsWith('.md'))
    .map(f => `docs/${f}`)
]

/** The text outside fenced code blocks and inline code, where links are links. */
const prose = (markdown: string): string =>
  markdown
    .replace(/^(```|~~~)[\s\S]*?^\1\s*$/gm, '')
    .replace(/``[^`]*``/g, '')
    .replace(/`[^`\n]*`/g, '')

/** GitHub's anchor for a heading: lower case, punctuation gone, spaces to hyphens; repeats get -1, -2. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of markdown.replace(/^(```|~~~)[\s\S]*?^\1\s*$/gm, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Every link target of a document: inline links and reference definitions, absolute ones left out. */
function links(markdown: string): string[] {
  const text = prose(markdown)
  const inline = [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map(m => m[1])
  const defined = [...text.matchAll(/^\[[^\]]+\]:\s+(\S+)/gm)].map(m => m[1])
  return [...inline, ...defined].filter(t => !/^[a-z][a-z0-9+.-]*:/i.test(t))
}

describe('the README', () => {
  const readme = read('README.md')

  it('fits in one sitting: at most 16 KB', () => expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(16 * 1024))

  it('names every input and output of action.yml', () => {
    const yml = read('action.yml')
    const declared = (section: string): string[] => {
      const body = yml.slice(yml.indexOf(`\n${section}:\n`) + section.length + 2).split(/\n(?=\S)/)[0]
      return [...body.matchAll(/^ {2}([a-z0-9-]+):$/gm)].map(m => m[1])
    }
    const inputs = declared('inputs')
    const outputs = declared('outputs')
    expect(inputs.sort()).toEqual(Object.values(Input).sort())
    expect(outputs.sort()).toEqual(Object.values(Output).sort())
    for (const name of [...inputs, ...outputs])
      expect({ name, inTable: readme.includes(`| \`${name}\` |`) }).toEqual({ name, inTable: true })
  })

  it('has a table of contents that leads to its sections', () => {
    const contents = readme.slice(readme.indexOf('## Contents'), readme.indexOf('\n## ', readme.indexOf('## Contents') + 1))
    const own = links(contents).filter(l => l.startsWith('#'))
    expect(own.length).toBeGreaterThanOrEqual(8)
    for (const l of own) expect(anchors(readme).has(l.slice(1))).toBe(true)
  })
})

describe('links within the repository', () => {
  it.each(DOCS)('in %s lead to a file, and to a heading where they name one', doc => {
    const broken: string[] = []
    for (const target of links(read(doc))) {
      const [file, anchor] = target.split('#')
      const resolved = file === '' ? doc : path.posix.normalize(path.posix.join(path.posix.dirname(doc), decodeURI(file)))
      if (resolved.startsWith('..') || !fs.existsSync(path.join(ROOT, resolved))) {
        broken.push(`${target}: no file ${resolved}`)
        continue
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchors(read(resolved)).has(anchor)) {
        broken.push(`${target}: no heading #${anchor} in ${resolved}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('are found where they are written, and a wrong one is caught', () => {
    expect(links('[a](docs/runners.md#proxies) `[b](nowhere.md)` [c](https://example.com)\n```\n[d](x.md)\n```\n')).toEqual([
      'docs/runners.md#proxies'
    ])
    expect(anchors('# A title\n## Migrating from docker/setup-qemu-action\n## Cleanup (post step)\n## A title\n')).toEqual(
      new Set(['a-title', 'migrating-from-dockersetup-qemu-action', 'cleanup-post-step', 'a-title-1'])
    )
  })
})

describe('the troubleshooting page', () => {
  it('lists every known-bad QEMU version the action warns about, with its upstream issue', () => {
    const page = read('docs/troubleshooting.md')
    for (const r of KNOWN_BAD_QEMU) expect(page).toContain(`(${r.link})`)
  })
})
