/**
 * The two ways fetching an image can fail, as types a caller can tell apart:
 * - RegistryError: the registry could not be used (unreachable, refused, not found, denied, something
 *   this client does not handle). The engine's own pull may still work: fall back to it, saying so.
 * - IntegrityError: content did not match the digest it was asked for. Never fall back silently:
 *   something between the pin and this host served other bytes.
 */
import { printable } from '../../log.js'

export type RegistryFailure = 'unreachable' | 'refused' | 'not-found' | 'denied' | 'unsupported'

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryFailure,
    message: string,
    /** another attempt may work (a reset connection, a 5xx, a 429) */
    readonly transient = false
  ) {
    super(message)
  }
}

export class IntegrityError extends Error {}

/** Text from a registry (an error body, a header) as it may be put into a message: printable and short. */
export function shown(text: string, max = 200): string {
  const p = printable(text.trim())
  return p.length > max ? `${p.slice(0, max)}…` : p
}

/** What a registry's error body says (`{"errors":[{"code","message"}]}`), or its first words. */
export function registrySays(body: Buffer): string {
  const text = body.subarray(0, 65536).toString('utf8')
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors
    if (Array.isArray(errors) && errors.length > 0) {
      return shown(errors.map(e => [e.code, e.message].filter(s => typeof s === 'string').join(': ')).join('; '))
    }
  } catch {
    // not JSON: the text itself
  }
  return shown(text)
}

/** The error for an HTTP status the request could not go on from. */
export function statusError(status: number, what: string, body: Buffer): RegistryError {
  const says = registrySays(body)
  const detail = `${what}: HTTP ${status}${says ? ` (${says})` : ''}`
  if (status === 401 || status === 403) {
    return new RegistryError(
      'denied',
      `${detail}. The registry denied access: for a private image, log in first (docker/login-action) so the Docker config has its credentials`
    )
  }
  if (status === 404) return new RegistryError('not-found', `${detail}. The registry has no such image or content`)
  const transient = status === 429 || status === 408 || status >= 500
  return new RegistryError('refused', detail, transient)
}
