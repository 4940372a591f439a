/**
 * Stage 1: read every input into one typed, validated object. Nothing on the host changes before this
 * has passed, and every value is checked against an allow-list: inputs are data, never shell text.
 */
import * as core from '@actions/core'
import { DEFAULT_HELPER_IMAGE, DEFAULT_IMAGE, Input } from '../constants.js'
import { ACCEPTED_WORDS, PLATFORMS, byWord, type Platform } from '../platforms.js'

export type Privilege = 'auto' | 'true' | 'false'
export type SourceKind = 'image' | 'download'

export interface Inputs {
  /** `all`, or the platforms asked for, in table order */
  platforms: 'all' | Platform[]
  image: string
  helperImage: string
  reset: boolean
  cacheImage: boolean
  cleanup: boolean
  privileged: Privilege
  source: SourceKind
  /** empty: the known release for this host */
  downloadUrl: string
  /** lower-case hex, or empty */
  downloadSha256: string
  /** seconds allowed for each network operation (pull, download) */
  timeout: number
}

export class InputError extends Error {}

const MAX_LENGTH = 2048

/** Reads an input; refuses control characters and oversized values before anything else looks at it. */
function text(name: string, opts: { multiline?: boolean } = {}): string {
  const raw = core.getInput(name)
  if (raw.length > MAX_LENGTH) throw new InputError(`input ${name} is longer than ${MAX_LENGTH} characters`)
  const bad = opts.multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/
  if (bad.test(raw)) throw new InputError(`input ${name} contains a control character or line break`)
  return raw.trim()
}

function bool(name: string): boolean {
  const v = text(name).toLowerCase()
  if (v === 'true') return true
  if (v === 'false' || v === '') return false
  throw new InputError(`input ${name} must be true or false, got "${v}"`)
}

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = text(name).toLowerCase() || fallback
  if (!(allowed as readonly string[]).includes(v)) {
    throw new InputError(`input ${name} must be one of ${allowed.join(', ')}, got "${v}"`)
  }
  return v as T
}

export function parsePlatforms(value: string): 'all' | Platform[] {
  const words = value
    .split(/[,\n]/)
    .map(w => w.trim())
    .filter(w => w !== '')
  if (words.length === 0) throw new InputError('input platforms is empty: name at least one platform, or all')
  const picked = new Set<Platform>()
  for (const word of words) {
    if (word.toLowerCase() === 'all') return 'all'
    const p = /^[A-Za-z0-9/_.-]{1,32}$/.test(word) ? byWord(word) : undefined
    if (!p) {
      const shown = word.length > 40 ? `${word.slice(0, 40)}…` : word
      throw new InputError(`unknown platform "${shown}". Accepted: ${ACCEPTED_WORDS.join(', ')}`)
    }
    picked.add(p)
  }
  return PLATFORMS.filter(p => picked.has(p))
}

// The reference grammar of distribution/reference, reduced to what a pull accepts:
// [host[:port]/]path[:tag][@sha256:hex]
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?'
const REFERENCE = new RegExp(
  `^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`
)

export function validateImage(name: string, value: string): string {
  if (!REFERENCE.test(value) || value.length > 512) {
    throw new InputError(`input ${name} is not an image reference: "${value.slice(0, 80)}"`)
  }
  return value
}

export const isPinned = (image: string): boolean => /@sha256:[a-f0-9]{64}$/.test(image)

export function validateUrl(name: string, value: string): string {
  if (value === '') return value
  // placeholders are substituted later; check the URL with them filled in
  const filled = value.replaceAll('{version}', '0').replaceAll('{arch}', 'amd64')
  let url: URL
  try {
    url = new URL(filled)
  } catch {
    throw new InputError(`input ${name} is not a URL: "${value.slice(0, 80)}"`)
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

function seconds(name: string, fallback: number): number {
  const v = text(name) || String(fallback)
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) < 1) {
    throw new InputError(`input ${name} must be a whole number of seconds from 1 to 99999, got "${v}"`)
  }
  return Number(v)
}

export function readInputs(): Inputs {
  return {
    platforms: parsePlatforms(text(Input.Platforms, { multiline: true }) || 'all'),
    image: validateImage(Input.Image, text(Input.Image) || DEFAULT_IMAGE),
    helperImage: validateImage(Input.HelperImage, text(Input.HelperImage) || DEFAULT_HELPER_IMAGE),
    reset: bool(Input.Reset),
    cacheImage: text(Input.CacheImage) === '' ? true : bool(Input.CacheImage),
    cleanup: bool(Input.Cleanup),
    privileged: oneOf<Privilege>(Input.Privileged, ['auto', 'true', 'false'], 'auto'),
    source: oneOf<SourceKind>(Input.Source, ['image', 'download'], 'image'),
    downloadUrl: validateUrl(Input.DownloadUrl, text(Input.DownloadUrl)),
    downloadSha256: validateSha256(Input.DownloadSha256, text(Input.DownloadSha256)),
    timeout: seconds(Input.Timeout, 600)
  }
}
