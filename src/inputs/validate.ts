/**
 * The allow-lists every input is checked against. Pure functions with no toolkit behind them, so the
 * entry point can use them before the toolkit has loaded.
 */
import { parse } from 'csv-parse/sync'
import { ACCEPTED_WORDS, PLATFORMS, byWord, type Platform } from '../platforms.js'

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

export function validateImage(name: string, value: string): string {
  if (!REFERENCE.test(value) || value.length > 512) {
    throw new InputError(`input ${name} is not an image reference: "${value.slice(0, 80)}"`)
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
    throw new InputError(`input ${name} is not a URL`) // not repeated: it may carry credentials
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError(`input ${name} must be an http or https URL, got ${url.protocol}`)
  }
  if (/[\s"'`<>\\^|{}]/.test(filled)) throw new InputError(`input ${name} has characters a URL cannot have`)
  return value
}

export function validateSha256(name: string, value: string): string {
  if (value === '') return value
  if (!/^[a-fA-F0-9]{64}$/.test(value)) {
    throw new InputError(`input ${name} must be 64 hexadecimal digits (a SHA-256), got "${value.slice(0, 80)}"`)
  }
  return value.toLowerCase()
}
