#!/usr/bin/env node
/**
 * Reads CHANGELOG.md (Keep a Changelog: `## [Unreleased]`, then `## [X.Y.Z] - YYYY-MM-DD` sections).
 *
 *   node scripts/ci/changelog.mjs X.Y.Z [CHANGELOG.md]   prints that version's section body, the release notes
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { error } from './outputs.mjs'

const HEADING = /^## \[([^\]]+)\](?:\s+-\s+(\d{4}-\d{2}-\d{2}))?\s*$/
const LINK_DEFINITION = /^\[[^\]]+\]:\s+\S+/

/** Every `## [name]` section in order: { name, date, line, body }. */
export function changelogSections(markdown) {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n')
  const sections = []
  let current
  let fence = false
  lines.forEach((line, i) => {
    if (/^(```|~~~)/.test(line)) fence = !fence
    const m = fence ? null : HEADING.exec(line)
    if (m) {
      current = { name: m[1], date: m[2], line: i + 1, lines: [] }
      sections.push(current)
    } else if (!fence && /^#{1,2} /.test(line)) {
      current = undefined // another top-level heading ends the section
    } else if (current) {
      current.lines.push(line)
    }
  })
  return sections.map(s => {
    const body = [...s.lines]
    // link reference definitions at the end of the file belong to no section
    while (body.length && (body[body.length - 1].trim() === '' || LINK_DEFINITION.test(body[body.length - 1]))) body.pop()
    while (body.length && body[0].trim() === '') body.shift()
    return { name: s.name, date: s.date, line: s.line, body: body.join('\n') }
  })
}

/** The release notes for version (X.Y.Z, with or without a leading v); throws when absent or empty. */
export function releaseNotes(markdown, version) {
  const wanted = version.replace(/^v/, '')
  const section = changelogSections(markdown).find(s => s.name === wanted)
  if (!section) throw new Error(`CHANGELOG.md has no "## [${wanted}] - YYYY-MM-DD" section`)
  if (!section.date)
    throw new Error(`CHANGELOG.md: the heading of ${wanted} (line ${section.line}) has no date: "## [${wanted}] - YYYY-MM-DD"`)
  if (!/\S/.test(section.body)) throw new Error(`CHANGELOG.md: the section of ${wanted} (line ${section.line}) is empty`)
  return section.body + '\n'
}

/**
 * markdown with an entry added to the Unreleased section, under `### kind` (made when absent, and a
 * "Nothing yet." placeholder dropped). Throws when there is no `## [Unreleased]` heading.
 */
export function addUnreleased(markdown, kind, entry) {
  const lines = markdown.split('\n')
  const start = lines.findIndex(l => /^## \[Unreleased\]\s*$/i.test(l))
  if (start < 0) throw new Error('CHANGELOG.md has no "## [Unreleased]" section')
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l))
  if (end < 0) end = lines.length
  const section = lines.slice(start + 1, end).filter(l => l.trim() !== 'Nothing yet.')
  const item = `- ${entry}`
  const heading = section.findIndex(l => l.trim() === `### ${kind}`)
  if (heading >= 0) {
    let at = heading + 1
    while (at < section.length && !/^#{2,3} /.test(section[at])) at++
    while (at > heading + 1 && section[at - 1].trim() === '') at--
    section.splice(at, 0, item)
  } else {
    while (section.length && section[section.length - 1].trim() === '') section.pop()
    section.push('', `### ${kind}`, '', item)
  }
  while (section.length && section[0].trim() === '') section.shift()
  return [...lines.slice(0, start + 1), '', ...section, '', ...lines.slice(end)].join('\n')
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [version, file = 'CHANGELOG.md'] = process.argv.slice(2)
  try {
    if (!version) throw new Error('usage: changelog.mjs X.Y.Z [CHANGELOG.md]')
    process.stdout.write(releaseNotes(fs.readFileSync(file, 'utf8'), version))
  } catch (err) {
    error(err.message)
    process.exitCode = 1
  }
}
