/**
 * URLs as they may be stored or shown: a download-url can carry credentials (user:pass@, a token in
 * the query), and the tool cache, the log and the job summary outlive the step and are read by others.
 */
import * as core from '@actions/core'

/** The URL without userinfo, query and fragment; text that is not a URL is returned as is. */
export function redactUrl(text: string): string {
  if (!text.includes('://')) return text
  try {
    const u = new URL(text)
    u.username = ''
    u.password = ''
    u.search = ''
    u.hash = ''
    return u.toString()
  } catch {
    // not parseable: cut the same parts out by their delimiters
    return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/[?#].*$/s, '')
  }
}

/** Masks the secret parts of a URL in everything the runner logs (the toolkit's debug lines print it). */
export function maskUrlSecrets(text: string): void {
  let u: URL
  try {
    u = new URL(text)
  } catch {
    return
  }
  // whole parts, not single query values: a value such as `amd64` would be masked all over the log
  for (const s of [u.username, u.password, u.search.slice(1), u.hash.slice(1)]) {
    for (const form of new Set([s, safeDecode(s)])) if (form.length >= 3) core.setSecret(form)
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
