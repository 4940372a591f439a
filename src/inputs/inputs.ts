/**
 * Stage 1: read every input into one typed, validated object. Nothing on the host changes before this
 * has passed, and every value is checked against an allow-list: inputs are data, never shell text.
 */
import * as core from '@actions/core'
import { DEFAULT_HELPER_IMAGE, DEFAULT_IMAGE, Input } from '../constants.js'
import type { Platform } from '../platform/platforms.js'
import { InputError, parsePlatformList, validateImage, validateMirror, validateSha256, validateUrl } from './validate.js'

export type Privilege = 'auto' | 'true' | 'false'
/** Where binfmt_misc is written from: the runner itself, a helper container, or whichever fits (auto). */
export type RegisterFrom = 'auto' | 'runner' | 'container'

export interface Inputs {
  /** `all`, or the platforms asked for, in table order */
  platforms: 'all' | Platform[]
  /** the platforms named explicitly (with `all` too): one of them failing fails the step */
  named: Platform[]
  image: string
  helperImage: string
  reset: boolean
  cacheImage: boolean
  cleanup: boolean
  privileged: Privilege
  registerFrom: RegisterFrom
  /** one of the sources the caller named (acquire/index.ts: SOURCE_KINDS) */
  source: string
  /** empty: the known release for this host */
  downloadUrl: string
  /** lower-case hex, or empty */
  downloadSha256: string
  /** seconds allowed for each network operation (pull, download) and for the helper container */
  timeout: number
  /** write the job summary */
  summary: boolean
  /** a registry serving Docker Hub's images by the same digests (host[:port][/prefix]), or empty */
  registryMirror: string
}

const MAX_LENGTH = 2048

/** Reads an input; refuses control characters and oversized values before anything else looks at it. */
function text(name: string, opts: { multiline?: boolean } = {}): string {
  const raw = core.getInput(name)
  if (raw.length > MAX_LENGTH) {
    throw new InputError(`input ${name} is longer than ${MAX_LENGTH} characters, more than any value it takes: shorten it`)
  }
  const bad = opts.multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/
  if (bad.test(raw)) {
    throw new InputError(
      opts.multiline
        ? `input ${name} contains a control character: remove it`
        : `input ${name} contains a control character or line break: write it on one line (only platforms may have several)`
    )
  }
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

function seconds(name: string, fallback: number): number {
  const v = text(name) || String(fallback)
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) < 1) {
    throw new InputError(`input ${name} must be a whole number of seconds from 1 to 99999, got "${v}"`)
  }
  return Number(v)
}

/** The inputs, checked; `sources` are the words `source` may be (the acquire stage's table). */
export function readInputs(sources: readonly string[]): Inputs {
  const platforms = parsePlatformList(text(Input.Platforms, { multiline: true }))
  return {
    platforms: platforms.all ? 'all' : platforms.named,
    named: platforms.named,
    image: validateImage(Input.Image, text(Input.Image) || DEFAULT_IMAGE),
    helperImage: validateImage(Input.HelperImage, text(Input.HelperImage) || DEFAULT_HELPER_IMAGE),
    reset: bool(Input.Reset),
    cacheImage: text(Input.CacheImage) === '' ? true : bool(Input.CacheImage),
    cleanup: bool(Input.Cleanup),
    privileged: oneOf<Privilege>(Input.Privileged, ['auto', 'true', 'false'], 'auto'),
    registerFrom: oneOf<RegisterFrom>(Input.RegisterFrom, ['auto', 'runner', 'container'], 'auto'),
    source: oneOf(Input.Source, sources, 'image'),
    downloadUrl: validateUrl(Input.DownloadUrl, text(Input.DownloadUrl)),
    downloadSha256: validateSha256(Input.DownloadSha256, text(Input.DownloadSha256)),
    timeout: seconds(Input.Timeout, 600),
    summary: text(Input.Summary) === '' ? true : bool(Input.Summary),
    registryMirror: validateMirror(Input.RegistryMirror, text(Input.RegistryMirror))
  }
}
