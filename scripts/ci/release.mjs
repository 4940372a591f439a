#!/usr/bin/env node
/**
 * The release workflow's decisions, for a pushed tag vX.Y.Z.
 *
 *   node scripts/ci/release.mjs check --tag vX.Y.Z
 *     the tag is a release version, package.json says the same version, CHANGELOG.md has its section
 *   node scripts/ci/release.mjs plan --tag vX.Y.Z --tags-file FILE --notes FILE
 *     writes the release notes (the CHANGELOG.md section) to --notes, and outputs major=vX and
 *     move-major=true|false: the major tag moves only to the highest release of that major, so a fix
 *     released for an older minor never takes @vX backwards. FILE lists the repository's tags, one a line.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { releaseNotes } from './changelog.mjs'
import { error, notice, parseArgs, setOutputs } from './outputs.mjs'

const RELEASE_TAG = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/

/** { version: 'X.Y.Z', major: 'vX', parts: [X, Y, Z] }; throws for anything but vX.Y.Z. */
export function parseReleaseTag(tag) {
  const m = RELEASE_TAG.exec(tag ?? '')
  if (!m) throw new Error(`"${tag}" is not a release tag: releases are tagged vX.Y.Z (no pre-release suffix)`)
  const parts = m.slice(1, 4).map(Number)
  return { version: parts.join('.'), major: `v${parts[0]}`, parts }
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return 0
}

/** True when tag is the highest vX.Y.Z of its major among tags (tag itself may or may not be listed). */
export function movesMajor(tag, tags) {
  const release = parseReleaseTag(tag)
  for (const other of tags) {
    let o
    try {
      o = parseReleaseTag(other.trim())
    } catch {
      continue // the major tags themselves, and anything else
    }
    if (o.parts[0] === release.parts[0] && compare(o.parts, release.parts) > 0) return false
  }
  return true
}

/** Problems that stop a release: [] when the tag, package.json and CHANGELOG.md agree. */
export function releaseProblems({ tag, packageJson, changelog }) {
  const problems = []
  let release
  try {
    release = parseReleaseTag(tag)
  } catch (err) {
    return [err.message]
  }
  let version
  try {
    version = JSON.parse(packageJson).version
  } catch {
    problems.push('package.json cannot be read')
  }
  if (version !== undefined && version !== release.version) {
    problems.push(
      `package.json says version ${version}, the tag says ${release.version}: bump package.json (npm version ${release.version} --no-git-tag-version) and tag again`
    )
  }
  try {
    releaseNotes(changelog, release.version)
  } catch (err) {
    problems.push(err.message)
  }
  return problems
}

export function main(argv, root = process.cwd()) {
  const a = parseArgs(argv)
  const read = f => fs.readFileSync(path.join(root, f), 'utf8')
  if (a._[0] === 'check') {
    const problems = releaseProblems({ tag: a.tag, packageJson: read('package.json'), changelog: read('CHANGELOG.md') })
    for (const p of problems) error(p)
    if (!problems.length) notice(`${a.tag}: package.json and CHANGELOG.md agree`)
    return problems.length ? 1 : 0
  }
  if (a._[0] === 'plan') {
    const release = parseReleaseTag(a.tag)
    fs.writeFileSync(a.notes, releaseNotes(read('CHANGELOG.md'), release.version))
    const tags = fs.readFileSync(a['tags-file'], 'utf8').split('\n').filter(Boolean)
    const move = movesMajor(a.tag, tags)
    setOutputs({ version: release.version, major: release.major, 'move-major': move })
    notice(
      move ? `${release.major} will point at ${a.tag}` : `${release.major} stays: a higher ${release.major}.x.y release exists`
    )
    return 0
  }
  error('usage: release.mjs check --tag vX.Y.Z | plan --tag vX.Y.Z --tags-file FILE --notes FILE')
  return 2
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2))
  } catch (err) {
    error(err.message)
    process.exitCode = 1
  }
}
