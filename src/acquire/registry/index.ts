/**
 * Images over the registry HTTP API (OCI distribution), without an engine.
 *
 *   const client = new RegistryClient({ timeout, mirror?, log?, store?, retries? })
 *   await client.resolve(ref)            → 'sha256:…' (a pinned ref's own digest, without the network)
 *   await client.pull(ref, { platform?, wanted, dir, maxBytes })
 *                                        → { digest, manifest, files, from, mirrorFailure? }
 *   client.close()                       → ends the connections kept open between requests
 *
 * pull() checks every byte from the digest down before it is used: the index against the pin (or
 * the digest the tag resolved to), the platform's manifest against the index, each layer against its
 * manifest (SHA-256 and size, as it streams, and no more than maxBytes). It writes only the wanted
 * regular files, under dir by their path in the image; nothing outside dir, no link, no device.
 *
 * Errors: RegistryError (kind: unreachable, refused, not-found, denied, unsupported) means the
 * registry could not be used, and the engine's pull may be tried instead (say so in the log);
 * IntegrityError means content did not match its digest, and must never be passed over silently.
 * A mirror's failure of either kind is not thrown: the registry named is used, and the result's
 * `from` and `mirrorFailure` say what happened (the client's log has a line too).
 *
 * Written here rather than taken from npm: the Node registry clients there are unmaintained or go
 * around the toolkit's HTTP client (so around the runner's proxy settings), and none checks content
 * against its digest as it streams. This one is @actions/http-client for HTTP and `tar` for layers.
 */
export { RegistryClient } from './client.js'
export type { MirrorOptions, PullOptions, PullResult, RegistryClientOptions, RegistryLog } from './types.js'
export { IntegrityError, RegistryError, type RegistryFailure } from './errors.js'
export type { ExtractedFile } from './layers.js'
export { parseReference, type ImageRef } from './reference.js'
