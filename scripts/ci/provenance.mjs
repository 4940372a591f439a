/**
 * The provenance tonistiigi/binfmt signs, checked before update-pins proposes a pin (used by update-pins.mjs):
 *
 * - each release tarball has a Sigstore bundle beside it (`<name>.provenance.sigstore.json`): a DSSE envelope
 *   around the build's in-toto provenance, whose subjects name the tarballs with their SHA-256;
 * - the image's index lists, for each platform's manifest, an attestation manifest, and each attestation
 *   manifest has a Sigstore bundle as an OCI referrer: a DSSE envelope whose statement names that attestation
 *   manifest's digest.
 *
 * A bundle counts only if sigstore (the maintained npm package) verifies its signature, certificate chain and
 * transparency log entry, the certificate was issued for a GitHub Actions workflow, and its Source Repository
 * extension names the tonistiigi/binfmt repository; and only for the digests its signed statement names.
 * Everything fetched by digest is checked against that digest. The decisions are plain functions with the
 * verifier and the registry handed in, so they are tested with bundles made in the tests.
 */
import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'
export const UPSTREAM_REPOSITORY = 'https://github.com/tonistiigi/binfmt'
/** Fulcio's Source Repository URI extension */
export const SOURCE_REPOSITORY_OID = '1.3.6.1.4.1.57264.1.12'
export const SIGSTORE_BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const INTOTO = 'application/vnd.in-toto+json'
const HEX64 = /^[0-9a-f]{64}$/
const DIGEST = /^sha256:[0-9a-f]{64}$/

/** The string a DER-encoded extension value holds (a UTF8String, IA5String or PrintableString), or its bytes as text. */
function derText(value) {
  const b = Buffer.from(value ?? [])
  if ([0x0c, 0x16, 0x13].includes(b[0]) && b.length >= 2) {
    let len = b[1]
    let start = 2
    if (len & 0x80) {
      const n = len & 0x7f
      len = 0
      for (let i = 0; i < n; i++) len = (len << 8) | b[2 + i]
      start = 2 + n
    }
    return b.subarray(start, start + len).toString('utf8')
  }
  return b.toString('utf8')
}

/** The repository a signing certificate names (Source Repository URI), from the signer sigstore returns. */
export function sourceRepository(signer) {
  const ext = (signer?.identity?.oids ?? []).find(o => (o.oid?.id ?? []).join('.') === SOURCE_REPOSITORY_OID)
  return ext ? derText(ext.value) : undefined
}

/** The in-toto statement a DSSE bundle carries. */
export function statementOf(bundle, what) {
  const env = bundle?.dsseEnvelope
  if (!env) throw new Error(`${what}: the bundle holds no DSSE envelope, so it does not say what it signs`)
  if (env.payloadType !== INTOTO) throw new Error(`${what}: the bundle signs ${env.payloadType}, not an in-toto statement`)
  try {
    return JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'))
  } catch {
    throw new Error(`${what}: the bundle's statement is not JSON`)
  }
}

/**
 * Checks a bundle that must sign the content with SHA-256 hex `digest`: verify(bundle) checks the signature
 * (it throws when it does not hold) and returns the signer; the certificate must be GitHub Actions' and name
 * upstream's repository, and the statement's subjects must name the digest. Returns what it found.
 */
export async function checkSigned(bundle, { digest, what }, verify) {
  if (!HEX64.test(digest ?? '')) throw new Error(`${what}: no SHA-256 to check the bundle against`)
  let signer
  try {
    signer = await verify(bundle)
  } catch (err) {
    throw new Error(`${what}: its Sigstore bundle does not verify: ${err.message}`)
  }
  const issuer = signer?.identity?.extensions?.issuer
  if (issuer !== GITHUB_ISSUER)
    throw new Error(`${what}: the bundle was signed with a certificate from ${issuer ?? 'no issuer'}, not GitHub Actions`)
  const repository = sourceRepository(signer)
  if (repository !== UPSTREAM_REPOSITORY)
    throw new Error(`${what}: the bundle's certificate names ${repository ?? 'no repository'}, not ${UPSTREAM_REPOSITORY}`)
  const statement = statementOf(bundle, what)
  const subjects = Array.isArray(statement.subject) ? statement.subject : []
  if (!subjects.some(s => s?.digest?.sha256 === digest)) {
    const named = subjects.map(s => `${s?.name ?? '?'} sha256:${s?.digest?.sha256 ?? '?'}`).join(', ')
    throw new Error(`${what}: the signed statement names ${named || 'nothing'}, not sha256:${digest}`)
  }
  return { repository, identity: signer.identity.subjectAlternativeName, predicateType: statement.predicateType }
}

/** The release asset of a tarball's Sigstore bundle: `<name without .tar.gz>.provenance.sigstore.json`. */
export function provenanceAsset(release, tarball) {
  const name = tarball.name.replace(/\.tar\.gz$/, '.provenance.sigstore.json')
  const asset = (release.assets ?? []).find(a => a?.name === name)
  if (!asset) throw new Error(`${tarball.name}: the release has no ${name} beside it, so its provenance cannot be checked`)
  const expected = tarball.url.replace(/[^/]+$/, name)
  if (asset.browser_download_url !== expected)
    throw new Error(`${name}: its download URL is ${asset.browser_download_url}, expected ${expected}`)
  return { name, url: expected }
}

/** Each tarball's Sigstore bundle, fetched and checked against the tarball's SHA-256. */
export async function verifyTarballProvenance(release, tarballs, { fetchImpl, verify }) {
  const results = []
  for (const t of tarballs) {
    const asset = provenanceAsset(release, t)
    const res = await fetchImpl(asset.url, { redirect: 'follow' })
    if (!res.ok) throw new Error(`downloading ${asset.url} failed with HTTP ${res.status}`)
    const bundle = JSON.parse(await res.text())
    results.push({
      name: t.name,
      arch: t.arch,
      sha256: t.sha256,
      ...(await checkSigned(bundle, { digest: t.sha256, what: t.name }, verify))
    })
  }
  return results
}

const sha256 = bytes => createHash('sha256').update(bytes).digest('hex')

/** JSON fetched by digest, checked against it. */
async function documentByDigest(registry, digest, what) {
  const bytes = Buffer.from(await registry.manifest(digest))
  if (`sha256:${sha256(bytes)}` !== digest) throw new Error(`${what} ${digest}: the registry served other bytes`)
  return JSON.parse(bytes.toString('utf8'))
}

/** The Sigstore bundle that is a referrer of digest: from the referrers index, its manifest, its one layer. */
async function bundleFor(registry, digest, what) {
  const referrers = await registry.referrers(digest)
  const found = (referrers?.manifests ?? []).filter(
    m => (m.artifactType ?? '').startsWith(SIGSTORE_BUNDLE) && DIGEST.test(m.digest ?? '')
  )
  if (found.length === 0) throw new Error(`${what}: no Sigstore bundle refers to ${digest}`)
  const errors = []
  for (const ref of found) {
    const manifest = await documentByDigest(registry, ref.digest, `${what}: the bundle manifest`)
    const layer = (manifest.layers ?? []).find(
      l => (l.mediaType ?? '').startsWith(SIGSTORE_BUNDLE) && DIGEST.test(l.digest ?? '')
    )
    if (!layer) {
      errors.push(`${ref.digest} holds no bundle layer`)
      continue
    }
    const bytes = Buffer.from(await registry.blob(layer.digest))
    if (`sha256:${sha256(bytes)}` !== layer.digest)
      throw new Error(`${what}: the bundle ${layer.digest}: the registry served other bytes`)
    return JSON.parse(bytes.toString('utf8'))
  }
  throw new Error(`${what}: ${errors.join('; ')}`)
}

const platformOf = p => [p?.os, p?.architecture, p?.variant].filter(Boolean).join('/')

/**
 * The image's signed provenance: for each platform required, the index (fetched by the digest to pin) must
 * list its manifest and an attestation manifest for it, and that attestation manifest must have a Sigstore
 * bundle that checks out (checkSigned) against its digest. registry: { manifest(digest), referrers(digest),
 * blob(digest) } for the image's repository.
 */
export async function verifyImageProvenance(digest, { registry, verify, platforms }) {
  const index = await documentByDigest(registry, digest, 'the image index')
  const manifests = Array.isArray(index.manifests) ? index.manifests : []
  const results = []
  for (const platform of platforms) {
    const image = manifests.find(
      m => platformOf(m.platform) === platform && m.annotations?.['vnd.docker.reference.type'] === undefined
    )
    if (!image) throw new Error(`the image ${digest} has no manifest for ${platform}`)
    const attestation = manifests.find(
      m =>
        m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' &&
        m.annotations?.['vnd.docker.reference.digest'] === image.digest &&
        DIGEST.test(m.digest ?? '')
    )
    if (!attestation)
      throw new Error(`the image ${digest} has no attestation manifest for its ${platform} manifest ${image.digest}`)
    const what = `the ${platform} provenance of ${digest}`
    const bundle = await bundleFor(registry, attestation.digest, what)
    const signed = await checkSigned(bundle, { digest: attestation.digest.slice('sha256:'.length), what }, verify)
    results.push({ platform, manifest: image.digest, attestation: attestation.digest, ...signed })
  }
  return results
}

/**
 * The registry calls verifyImageProvenance needs, for a Docker Hub repository, with an anonymous pull token;
 * referrers through the OCI referrers API, else the referrers tag schema (`sha256-<hex>`).
 */
export function dockerHub(repository, fetchImpl = globalThis.fetch) {
  const base = `https://registry-1.docker.io/v2/${repository}`
  let token
  const headers = async accept => {
    if (!token) {
      const r = await fetchImpl(`https://auth.docker.io/token?service=registry.docker.io&scope=repository:${repository}:pull`)
      if (!r.ok) throw new Error(`getting a Docker Hub pull token failed with HTTP ${r.status}`)
      token = (await r.json()).token
    }
    return { authorization: `Bearer ${token}`, accept }
  }
  const get = async (url, accept) => {
    const r = await fetchImpl(url, { headers: await headers(accept), redirect: 'follow' })
    return r
  }
  const ACCEPT = [
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json'
  ].join(', ')
  const bytes = async (r, what) => {
    if (!r.ok) throw new Error(`${what}: HTTP ${r.status}`)
    return Buffer.from(await r.arrayBuffer())
  }
  return {
    manifest: async ref => bytes(await get(`${base}/manifests/${ref}`, ACCEPT), `fetching ${repository}@${ref}`),
    blob: async digest => bytes(await get(`${base}/blobs/${digest}`, '*/*'), `fetching the blob ${digest}`),
    referrers: async digest => {
      const r = await get(
        `${base}/referrers/${digest}?artifactType=${encodeURIComponent(SIGSTORE_BUNDLE)}`,
        'application/vnd.oci.image.index.v1+json'
      )
      if (r.ok) return r.json()
      const tag = await get(`${base}/manifests/sha256-${digest.slice('sha256:'.length)}`, ACCEPT)
      if (!tag.ok) throw new Error(`no referrers of ${digest}: HTTP ${r.status}, and ${tag.status} for its referrers tag`)
      return tag.json()
    }
  }
}

/** sigstore's verify, with GitHub Actions as the certificate issuer: the default verifier of the checks above. */
export async function sigstoreVerify(bundle) {
  const { verify } = await import('sigstore')
  return verify(bundle, { certificateIssuer: GITHUB_ISSUER })
}
