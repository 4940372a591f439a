/** The registry client's options and results, apart so that the client and its fetch share them. */
import type { ExtractedFile } from './layers.js'
import type { RetryPolicy } from './repository.js'

export interface RegistryLog {
  info(message: string): void
  debug(message: string): void
}

export interface MirrorOptions {
  /** host[:port], optionally with a path prefix: `mirror.gcr.io`, `127.0.0.1:5001`, `harbor.example/hub` */
  host: string
  /** the registry it mirrors, as references name it; `docker.io` unless given */
  for?: string
}

export interface RegistryClientOptions {
  /** seconds one call (resolve, pull) may take in all, retries included; every request ends by then */
  timeout: number
  mirror?: MirrorOptions
  /** defaults to the action's log, which makes text printable */
  log?: RegistryLog
  /** a directory keeping what is fetched by digest (`sha256/<hex>`), read first and checked whenever it is read */
  store?: string
  retries?: RetryPolicy
}

export interface PullOptions {
  /** `linux/arm64`, `linux/arm/v7`; the host's own (the platform table's word for process.arch) if not given */
  platform?: string
  /** which member paths to take (`usr/bin/qemu-aarch64`: relative, no leading `/` or `./`) */
  wanted: (member: string) => boolean
  /**
   * member paths that are all that is needed: once a layer has given every one, the rest of that layer is
   * not read (the layers above it are; see LayerExtractor)
   */
  enough?: readonly string[]
  /** where they are written, by member path; created if missing */
  dir: string
  /** the most bytes the layers may have, and the most the files taken may have */
  maxBytes: number
  /** a store for this pull instead of the client's (a directory of `sha256/<hex>`, created if missing) */
  store?: string
  /**
   * digests whose file in the store this run wrote, hashing it as it did, and found to match: their
   * content is not read again to check it (their size still is)
   */
  checked?: ReadonlySet<string>
  /**
   * everything from the store, nothing fetched: a blob the store lacks is a RegistryError (not-found),
   * one it holds with other bytes an IntegrityError. For a store that came from elsewhere (a cache).
   */
  offline?: boolean
}

export interface PullResult {
  /** what the reference was pinned or resolved to: the image's index or manifest digest */
  digest: string
  /** the digest of the manifest for the platform */
  manifest: string
  files: ExtractedFile[]
  /** where the content came from: the registry named, the mirror, or only the store */
  from: 'source' | 'mirror' | 'store'
  /** why the mirror was not used, when it was tried and failed */
  mirrorFailure?: string
  /** every blob the pull read (index, manifest, config when read, layers), as the store keeps them */
  blobs: string[]
}
