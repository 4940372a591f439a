/**
 * tonistiigi/binfmt's releases, as GitHub's REST API lists them (GET /repos/tonistiigi/binfmt/releases),
 * and its image's digests, as `docker buildx imagetools inspect --format '{{json .Manifest}}'` prints them.
 *
 * A deploy release is tagged deploy/vX.Y.Z-N (QEMU X.Y.Z, build N); its image is tagged qemu-vX.Y.Z-N and
 * its tarballs are the assets qemu_vX.Y.Z_linux-<arch>.tar.gz, one per host arch, each with a `digest`
 * ("sha256:<hex>") that GitHub computed at upload. Releases tagged desktop/ or buildkit/ are other builds.
 */
import { createHash } from 'node:crypto'

export const UPSTREAM = 'tonistiigi/binfmt'
export const IMAGE_REPOSITORY = 'docker.io/tonistiigi/binfmt'
const DOWNLOAD = `https://github.com/${UPSTREAM}/releases/download`
const DEPLOY_TAG = /^deploy\/v((\d+)\.(\d+)\.(\d+))-(\d+)$/
const VERSION = /^(\d+)\.(\d+)\.(\d+)-(\d+)$/
const DIGEST = /^sha256:[0-9a-f]{64}$/
/** The host arches GitHub's hosted runners have: a release without both is not one to pin. */
export const REQUIRED_ARCHES = ['amd64', 'arm64']

/** 'X.Y.Z-N' of a deploy tag, or undefined for any other tag. */
export function deployVersion(tag) {
  const m = DEPLOY_TAG.exec(tag ?? '')
  return m ? `${m[1]}-${m[5]}` : undefined
}

function versionParts(version) {
  const m = VERSION.exec(version ?? '')
  if (!m) throw new Error(`"${version}" is not a QEMU build version X.Y.Z-N`)
  return m.slice(1, 5).map(Number)
}

/** <0, 0 or >0 as version a (X.Y.Z-N) is older than, the same as or newer than b. */
export function compareVersions(a, b) {
  const pa = versionParts(a)
  const pb = versionParts(b)
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i]
  return 0
}

/** The QEMU version (X.Y.Z) of a build version (X.Y.Z-N). */
export const qemuVersion = version => version.replace(/-\d+$/, '')

/** The image reference of a build, by tag (no digest). */
export const imageTag = version => `${IMAGE_REPOSITORY}:qemu-v${version}`

/**
 * The newest deploy release: not a draft, not a pre-release unless asked for (upstream marks the builds it
 * has not promoted to latest as pre-releases). undefined when the list has none.
 */
export function latestDeployRelease(releases, { includePrereleases = false } = {}) {
  if (!Array.isArray(releases)) throw new Error('the releases response is not a list (an API error?)')
  let best
  for (const r of releases) {
    const version = deployVersion(r?.tag_name)
    if (!version || r.draft || (r.prerelease && !includePrereleases)) continue
    if (!best || compareVersions(version, best.version) > 0) best = { version, release: r }
  }
  return best
}

/**
 * The release's tarballs, one per host arch, sorted amd64, arm64, then by name:
 * [{ arch, name, url, sha256 }]. Throws when an asset lacks a digest, its URL is not where the tag says,
 * or a required arch is missing.
 */
export function releaseTarballs(release) {
  const version = deployVersion(release?.tag_name)
  if (!version) throw new Error(`"${release?.tag_name}" is not a deploy release`)
  const qemu = qemuVersion(version)
  const name = new RegExp(`^qemu_v${qemu.replace(/\./g, '\\.')}_linux-([a-z0-9]+(?:-v[0-9]+)?)\\.tar\\.gz$`)
  const tarballs = []
  for (const asset of release.assets ?? []) {
    const m = name.exec(asset?.name ?? '')
    if (!m) continue
    const expected = `${DOWNLOAD}/deploy/v${version}/${asset.name}`
    if (asset.browser_download_url !== expected) {
      throw new Error(`${asset.name}: its download URL is ${asset.browser_download_url}, expected ${expected}`)
    }
    if (!DIGEST.test(asset.digest ?? '')) {
      throw new Error(`${asset.name}: the API gives no sha256 digest for it (digest: ${JSON.stringify(asset.digest ?? null)})`)
    }
    tarballs.push({ arch: m[1], name: asset.name, url: asset.browser_download_url, sha256: asset.digest.slice('sha256:'.length) })
  }
  const order = a => (REQUIRED_ARCHES.includes(a) ? REQUIRED_ARCHES.indexOf(a) : REQUIRED_ARCHES.length)
  tarballs.sort((a, b) => order(a.arch) - order(b.arch) || a.arch.localeCompare(b.arch))
  const missing = REQUIRED_ARCHES.filter(a => !tarballs.some(t => t.arch === a))
  if (missing.length)
    throw new Error(
      `deploy/v${version} has no tarball for ${missing.join(', ')} (assets: ${(release.assets ?? []).map(a => a.name).join(', ') || 'none'})`
    )
  return tarballs
}

/** The download URL template ({version}, {arch}) of a release, checked against every tarball's URL. */
export function urlTemplate(release, tarballs = releaseTarballs(release)) {
  const version = deployVersion(release.tag_name)
  const template = `${DOWNLOAD}/deploy/v{version}/qemu_v${qemuVersion(version)}_linux-{arch}.tar.gz`
  for (const t of tarballs) {
    const url = template.replaceAll('{version}', version).replaceAll('{arch}', t.arch)
    if (url !== t.url) throw new Error(`the URL template gives ${url} for ${t.arch}, the release has ${t.url}`)
  }
  return template
}

/**
 * The digest of an image reference as the registry resolves it, from the output of
 * `docker buildx imagetools inspect REF --format '{{json .Manifest}}'` (a descriptor with digest, and
 * manifests[] for an index) or of `crane digest REF` (the digest alone). { digest, platforms }.
 */
export function parseImageDigest(output) {
  const textOut = String(output).trim()
  if (DIGEST.test(textOut)) return { digest: textOut, platforms: [] }
  let json
  try {
    json = JSON.parse(textOut)
  } catch {
    throw new Error(`no image digest in: ${textOut.slice(0, 200)}`)
  }
  if (!DIGEST.test(json?.digest ?? '')) throw new Error(`no sha256 digest in the manifest descriptor: ${textOut.slice(0, 200)}`)
  const platforms = (json.manifests ?? [])
    .map(m => m.platform)
    .filter(p => p && p.os && p.architecture && p.os !== 'unknown')
    .map(p => [p.os, p.architecture, p.variant].filter(Boolean).join('/'))
  return { digest: json.digest, platforms }
}

/**
 * Downloads each tarball and checks its SHA-256 against the digest the API gave. fetchImpl is fetch's
 * signature; returns [{ name, ok, sha256 }] and throws on the first mismatch or failed download.
 */
export async function verifyTarballs(tarballs, fetchImpl) {
  const results = []
  for (const t of tarballs) {
    const res = await fetchImpl(t.url, { redirect: 'follow' })
    if (!res.ok) throw new Error(`downloading ${t.url} failed with HTTP ${res.status}`)
    const hash = createHash('sha256')
    for await (const chunk of res.body) hash.update(chunk)
    const got = hash.digest('hex')
    if (got !== t.sha256) throw new Error(`${t.name}: the API says sha256 ${t.sha256}, the download is ${got}`)
    results.push({ name: t.name, ok: true, sha256: got })
  }
  return results
}
