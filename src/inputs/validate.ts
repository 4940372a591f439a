/**
 * The allow-lists every input is checked against. Pure functions with no toolkit behind them, so the
 * entry point can use them before the toolkit has loaded.
 */
import { parse } from 'csv-parse/sync'
import { ACCEPTED_WORDS, PLATFORMS, byWord, type Platform } from '../platform/platforms.js'

export class InputError extends Error {}

/**
 * The words of a list input, split the way docker's own actions split them: as CSV (so a word may be
 * quoted), records on lines, and commas inside a record.
 */
export function listWords(value: string): string[] {
  if (value.trim() === '') return []
  const records = parse(value, { columns: false, relaxQuotes: true, relaxColumnCount: true, skipEmptyLines: true }) as string[][]
  return records
    .flatMap(r => (r.length === 1 ? r[0].split(',') : r))
    .map(w => w.trim())
    .filter(w => w !== '')
}

export interface PlatformList {
  /** `all` was among the words */
  all: boolean
  /** the platforms named, in table order */
  named: Platform[]
}

/** Every word checked, `all` or not; no word at all means `all`, as upstream has it. */
export function parsePlatformList(value: string): PlatformList {
  const words = listWords(value)
  const picked = new Set<Platform>()
  let all = words.length === 0
  for (const word of words) {
    if (word.toLowerCase() === 'all') {
      all = true
      continue
    }
    const p = /^[A-Za-z0-9/_.-]{1,32}$/.test(word) ? byWord(word) : undefined
    if (!p) {
      const shown = word.length > 40 ? `${word.slice(0, 40)}…` : word
      throw new InputError(`unknown platform "${shown}". Accepted: ${ACCEPTED_WORDS.join(', ')}, each also with a /vN variant`)
    }
    picked.add(p)
  }
  return { all, named: PLATFORMS.filter(p => picked.has(p)) }
}

export function parsePlatforms(value: string): 'all' | Platform[] {
  const list = parsePlatformList(value)
  return list.all ? 'all' : list.named
}

// The reference grammar of distribution/reference, reduced to what a pull accepts:
// [host[:port]/]path[:tag][@sha256:hex]
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const HOST =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?'
const REFERENCE = new RegExp(
  `^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`
)

const MAX_REFERENCE = 512
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const quoted = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)

/** What is wrong with the digest after `@`, if anything. */
function digestProblem(digest: string): string | undefined {
  const [algorithm, hex] = digest.includes(':')
    ? [digest.slice(0, digest.indexOf(':')), digest.slice(digest.indexOf(':') + 1)]
    : ['', digest]
  if (algorithm !== 'sha256') {
    return algorithm
      ? `its digest is ${quoted(algorithm)}, and only sha256 digests are taken`
      : 'the digest after "@" has no sha256: in front'
  }
  if (/[A-F]/.test(hex) && /^[0-9a-fA-F]+$/.test(hex))
    return 'the hex digits of its digest are upper case; they must be lower case'
  if (!/^[0-9a-f]*$/.test(hex)) return 'its digest has characters that are not hex digits'
  if (hex.length !== 64) return `its digest has ${hex.length} hex digits, not 64`
  return undefined
}

/** What is wrong with one part of the repository path (between slashes), if anything. */
function componentProblem(part: string): string | undefined {
  if (part === '') return 'its repository path has an empty part (a "//", or a "/" at the start or end)'
  if (/[A-Z]/.test(part)) {
    return `its repository path has upper-case letters (${quoted(part)}), and registries take lower case only: write ${quoted(part.toLowerCase())}`
  }
  if (/^[._-]|[._-]$/.test(part))
    return `${quoted(part)} starts or ends with ".", "_" or "-", which may only stand between letters and digits`
  if (!new RegExp(`^${COMPONENT}$`).test(part)) {
    return `${quoted(part)} has separators a repository name cannot have: only ".", "_", "__" or dashes between letters and digits`
  }
  return undefined
}

/**
 * Why a value is not an image reference, in words a user can act on, or undefined when it is one. A
 * first part in upper case without a dot, colon or port is refused too: the engine would take it for a
 * registry host, where it is nearly always an organisation written in the wrong case.
 */
export function referenceProblem(value: string): string | undefined {
  if (value === '') return 'it is empty'
  if (value.length > MAX_REFERENCE) return `it is longer than ${MAX_REFERENCE} characters`
  if (/\s/.test(value)) return 'it has a space in it'
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]
  if (scheme) return `it starts with ${scheme}://, which a reference does not have: leave that out`
  const bad = /[^A-Za-z0-9._\-/:@[\]]/.exec(value)?.[0]
  if (bad) return `it has a character no reference can have (${quoted(bad)})`
  const at = value.split('@')
  if (at.length > 2) return 'it has more than one "@"'
  const [nameAndTag, digest] = at
  if (digest !== undefined) {
    if (digest.includes('/') || (digest.match(/:/g) ?? []).length > 1)
      return 'something follows its digest: a tag goes before the "@", not after'
    const problem = digestProblem(digest)
    if (problem) return problem
  }
  const parts = nameAndTag.split('/')
  const first = parts[0]
  const isHost = parts.length > 1 && (/[.:]/.test(first) || first === 'localhost')
  if (isHost) {
    const [host, port] = first.split(':')
    if (!new RegExp(`^${HOST}$`).test(first)) {
      return port !== undefined && !/^[0-9]{1,5}$/.test(port)
        ? `its registry port ${quoted(port)} is not a number`
        : `its registry host ${quoted(host)} is not a host name`
    }
    parts.shift()
  }
  const last = parts.pop() ?? ''
  const colons = last.split(':')
  if (colons.length > 2) return `it has more than one ":" after the name (${quoted(last)}): one tag at most`
  const [lastName, tag] = colons
  if (lastName === '' && parts.length === 0) return 'the repository name is missing'
  for (const part of [...parts, lastName]) {
    const problem = componentProblem(part)
    if (problem) return problem
  }
  if (tag !== undefined) {
    if (tag === '') return 'the tag after ":" is empty'
    if (tag.length > 128) return 'its tag is longer than 128 characters'
    if (/^[.-]/.test(tag))
      return `its tag ${quoted(tag)} starts with "${tag[0]}", and a tag must start with a letter, digit or "_"`
    if (!TAG.test(tag)) return `its tag ${quoted(tag)} has characters a tag cannot have: only letters, digits, "_", "." and "-"`
  }
  // whatever the checks above did not name: the grammar has the last word
  return REFERENCE.test(value) ? undefined : 'it does not have the form of one'
}

export function validateImage(name: string, value: string): string {
  const why = referenceProblem(value)
  if (why) {
    throw new InputError(
      `input ${name} is not an image reference: ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}: ${why}. ` +
        'Write it as [registry[:port]/]name[:tag][@sha256:<64 hex digits>], the name in lower case.'
    )
  }
  return value
}

/** The sha256 digest an image reference is pinned by, if it is. */
export const digestOf = (image: string): string | undefined => /@sha256:([a-f0-9]{64})$/.exec(image)?.[1]

export const isPinned = (image: string): boolean => digestOf(image) !== undefined

export function validateUrl(name: string, value: string): string {
  if (value === '') return value
  // placeholders are substituted later; check the URL with them filled in
  const filled = value.replaceAll('{version}', '0').replaceAll('{arch}', 'amd64')
  let url: URL
  try {
    url = new URL(filled)
  } catch {
    // not repeated: it may carry credentials
    throw new InputError(
      `input ${name} is not a URL: give an http or https URL, such as https://example.com/binfmt/{version}/qemu_linux-{arch}.tar.gz`
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(`input ${name} must be an http or https URL, got ${url.protocol} (nothing else is downloaded)`)
  }
  if (/[\s"'`<>\\^|{}]/.test(filled)) {
    throw new InputError(
      `input ${name} has characters a URL cannot have (a space, a quote, <, >, \\, ^, |, or braces other than {version} and {arch}): ` +
        'percent-encode them (a space is %20)'
    )
  }
  return value
}

export function validateSha256(name: string, value: string): string {
  if (value === '') return value
  if (!/^[a-fA-F0-9]{64}$/.test(value)) {
    throw new InputError(`input ${name} must be 64 hexadecimal digits (a SHA-256), got "${value.slice(0, 80)}"`)
  }
  return value.toLowerCase()
}

/** A registry host as a mirror is given: host[:port], an optional path prefix, an optional http(s):// in front. */
const MIRROR =
  /^(?:https?:\/\/)?((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?)((?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)\/?$/

export function validateMirror(name: string, value: string): string {
  if (value === '') return value
  if (!MIRROR.test(value) || value.length > 256) {
    const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
    throw new InputError(
      `input ${name} is not a registry host: ${shown}. Write it as host[:port][/path] of a registry that serves Docker Hub's ` +
        'images (a pull-through cache), such as mirror.gcr.io or harbor.example.com/dockerhub; no tag, digest, query or credentials.'
    )
  }
  return value
}
