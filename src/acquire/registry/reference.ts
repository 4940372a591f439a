/**
 * An image reference as the registry API needs it: which host serves it, the repository path, and the
 * tag or digest. The grammar is the one the `image` input is checked against (inputs/validate.ts);
 * only the split into parts, with Docker Hub's defaults, is done here.
 */
import { isIP } from 'node:net'
import { digestOf, validateImage } from '../../inputs/validate.js'

export const DOCKER_HUB = 'docker.io'
/** Where Docker Hub's registry API is served, and the key its login has in a Docker config */
export const DOCKER_HUB_API = 'registry-1.docker.io'
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/'

export interface ImageRef {
  /** the registry as the reference names it, lower-cased: `docker.io` for Docker Hub */
  registry: string
  /** host[:port] the registry API is served on: `registry-1.docker.io` for Docker Hub */
  host: string
  /** repository path: `library/busybox` for `busybox` */
  repository: string
  /** `latest` when the reference has neither tag nor digest */
  tag?: string
  /** `sha256:<hex>` when the reference is pinned */
  digest?: string
}

/** Splits a reference; throws the input check's InputError for text that is not a reference. */
export function parseReference(ref: string): ImageRef {
  validateImage('image', ref)
  const hex = digestOf(ref)
  let name = hex ? ref.slice(0, ref.lastIndexOf('@')) : ref
  let tag: string | undefined
  const colon = name.lastIndexOf(':')
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1)
    name = name.slice(0, colon)
  }
  // distribution/reference's rule: a first part with a dot, a port or upper case, or `localhost`, is a host
  const slash = name.indexOf('/')
  const first = slash === -1 ? '' : name.slice(0, slash)
  const isHost = first !== '' && (/[.:[]/.test(first) || first === 'localhost' || first !== first.toLowerCase())
  let registry = isHost ? first.toLowerCase() : DOCKER_HUB
  let repository = isHost ? name.slice(slash + 1) : name
  if (registry === 'index.docker.io') registry = DOCKER_HUB
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`
  return {
    registry,
    host: registry === DOCKER_HUB ? DOCKER_HUB_API : registry,
    repository,
    tag: tag ?? (hex ? undefined : 'latest'),
    digest: hex ? `sha256:${hex}` : undefined
  }
}

/** The reference written out again in full, as it may be logged: `docker.io/library/busybox:1.37.0@sha256:…`. */
export const formatReference = (r: ImageRef): string =>
  `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`

/** The host without its port, and without the brackets of an IPv6 address. */
export function hostname(host: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host)
  if (m) return m[1]
  return host.replace(/:\d+$/, '')
}

/**
 * Whether plain HTTP may be used: only for the loopback interface (127.0.0.0/8, ::1, localhost), which
 * the engine also treats as an insecure registry by default. Every other host is HTTPS only.
 */
export function isLoopback(host: string): boolean {
  const name = hostname(host).toLowerCase()
  if (name === 'localhost') return true
  if (isIP(name) === 4) return name.startsWith('127.')
  if (isIP(name) === 6) return /^(?:0{0,4}:){2,7}0{0,3}1$/.test(name)
  return false
}
