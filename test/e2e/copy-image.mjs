// Copies an image within a registry, byte for byte, so that it keeps its digest under another name: its
// blobs are mounted into the new repository and its manifest put there unchanged. Prints the new pinned
// reference (REG/TO:TAG@DIGEST).
// usage: node copy-image.mjs REG FROM_REPOSITORY DIGEST TO_REPOSITORY TAG   (REG: 127.0.0.1:5000)
import console from 'node:console'
import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'
import process from 'node:process'

const [reg, from, digest, to, tag] = process.argv.slice(2)
if (!tag) {
  console.error('usage: node copy-image.mjs REG FROM_REPOSITORY DIGEST TO_REPOSITORY TAG')
  process.exit(2)
}
const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
].join(', ')

async function ok(r, what) {
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status} ${await r.text()}`)
  return r
}

/** Mounts every blob of the manifest at digest into `to`, and puts the manifest there under `ref`. */
async function copy(d, ref) {
  const r = await ok(await fetch(`http://${reg}/v2/${from}/manifests/${d}`, { headers: { accept: ACCEPT } }), `fetching ${d}`)
  const bytes = Buffer.from(await r.arrayBuffer())
  if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== d) throw new Error(`${d}: the registry served other bytes`)
  const doc = JSON.parse(bytes.toString('utf8'))
  for (const m of doc.manifests ?? []) await copy(m.digest, m.digest)
  for (const b of [doc.config, ...(doc.layers ?? [])].filter(Boolean)) {
    const mount = await fetch(`http://${reg}/v2/${to}/blobs/uploads/?mount=${b.digest}&from=${from}`, { method: 'POST' })
    if (mount.status !== 201) throw new Error(`mounting ${b.digest} into ${to}: HTTP ${mount.status}`)
  }
  const type = r.headers.get('content-type') ?? doc.mediaType
  await ok(
    await fetch(`http://${reg}/v2/${to}/manifests/${ref}`, { method: 'PUT', headers: { 'content-type': type }, body: bytes }),
    `putting ${to}:${ref}`
  )
}

await copy(digest, tag)
console.log(`${reg}/${to}:${tag}@${digest}`)
