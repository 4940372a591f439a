/**
 * Fetching one image for one platform from one repository, from its digest down: the index (or a
 * single-platform manifest, whose config must name the platform), the platform's manifest, and the
 * layers, each checked against the digest that names it before it is used; then the wanted files are
 * taken out of the layers.
 */
import type { PullOptions, PullResult, RegistryLog } from './types.js'
import type { Store } from './content.js'
import { IntegrityError, RegistryError, shown } from './errors.js'
import { LayerExtractor } from './layers.js'
import * as m from './manifest.js'
import { MAX_MANIFEST, type Repository } from './repository.js'

const MAX_CONFIG = 1024 * 1024

/** One pull from one place. */
export interface Pull {
  repo: Repository
  /** the image's digest: its index, or its only manifest */
  digest: string
  want: m.PlatformSpec
  opts: PullOptions
  store: Store
  deadline: number
  /** whether anything had to be fetched (false: the store held it all) */
  fetched: boolean
  log: RegistryLog
  /** the digests read, in order */
  blobs: string[]
}

export async function fetchImage(p: Pull, via: 'source' | 'mirror'): Promise<Omit<PullResult, 'mirrorFailure'>> {
  let doc = m.parseDocument(await document(p, p.digest), undefined, `the image ${p.digest}`)
  let manifest = p.digest
  if (doc.kind === 'index') {
    const d = m.chooseManifest(doc.manifests, p.want)
    if (!d) {
      const has = doc.manifests.flatMap(x => (x.platform ? [m.describePlatform(x.platform)] : [])).join(', ')
      throw new RegistryError(
        'unsupported',
        `the image ${p.digest} has no manifest for ${m.describePlatform(p.want)} (it has: ${has || 'none'})`
      )
    }
    manifest = d.digest
    const bytes = await document(p, d.digest)
    if (bytes.length !== d.size)
      throw new IntegrityError(`the manifest ${d.digest} is ${bytes.length} bytes, not the ${d.size} its index gives`)
    doc = m.parseDocument(bytes, d.mediaType, `the manifest ${d.digest}`)
    if (doc.kind !== 'manifest')
      throw new RegistryError('unsupported', `the index ${p.digest} names another index for its platform`)
  } else {
    // a single-platform image: its config says which platform it is for
    const cfg = await configOf(p, doc.config)
    const is = m.configPlatform(cfg)
    if (!is || !m.acceptable(p.want).some(a => m.samePlatform(is, a))) {
      throw new RegistryError(
        'unsupported',
        `the image ${p.digest} is for ${is ? m.describePlatform(is) : 'no platform it names'}, not ${m.describePlatform(p.want)}`
      )
    }
  }
  const layers = doc.layers
  const refused = layers.find(l => !m.LAYER_TYPES.includes(l.mediaType))
  if (refused) {
    throw new RegistryError(
      'unsupported',
      `the layer ${refused.digest} is ${shown(refused.mediaType, 80)}: only tar and gzip-compressed tar layers are extracted here (zstd and others are refused)`
    )
  }
  const total = layers.reduce((n, l) => n + l.size, 0)
  if (total > p.opts.maxBytes)
    throw new RegistryError('unsupported', `the image's layers are ${total} bytes, more than the ${p.opts.maxBytes} allowed`)
  const files = await Promise.all(layers.map(l => layer(p, l)))
  const extractor = new LayerExtractor(p.opts.dir, p.opts.wanted, p.opts.maxBytes, message => p.log.debug(message), p.opts.enough)
  try {
    for (const [i, file] of files.entries()) await extractor.add(file, `the layer ${layers[i].digest}`)
  } catch (err) {
    await extractor.discard()
    throw err
  }
  return { digest: p.digest, manifest, files: extractor.result(), from: p.fetched ? via : 'store', blobs: p.blobs }
}

/** Marks that digest must be fetched: refused when the pull may take only what the store holds. */
function fetching(p: Pull, digest: string, what: string): void {
  if (p.opts.offline) {
    if (p.store.mismatched.has(digest)) throw new IntegrityError(`the stored ${what} ${digest} does not match its digest`)
    throw new RegistryError('not-found', `the store has no ${what} ${digest}`)
  }
  p.fetched = true
}

/** An index or manifest by digest: from the store if it holds it whole, else fetched; checked either way. */
async function document(p: Pull, digest: string): Promise<Buffer> {
  p.blobs.push(digest)
  const kept = await p.store.bytes(digest, MAX_MANIFEST)
  if (kept) return kept
  fetching(p, digest, 'manifest')
  const { body } = await p.repo.manifest(digest, p.deadline)
  await p.store.put(digest, body)
  return body
}

async function configOf(p: Pull, d: m.Descriptor): Promise<Buffer> {
  if (d.size > MAX_CONFIG)
    throw new RegistryError('unsupported', `the image config ${d.digest} is ${d.size} bytes, more than ${MAX_CONFIG}`)
  p.blobs.push(d.digest)
  const kept = await p.store.bytes(d.digest, MAX_CONFIG)
  if (kept && kept.length === d.size) return kept
  fetching(p, d.digest, 'image config')
  const body = await p.repo.blobBytes(d, p.deadline)
  await p.store.put(d.digest, body)
  return body
}

async function layer(p: Pull, d: m.Descriptor): Promise<string> {
  p.blobs.push(d.digest)
  const kept = await p.store.file(d)
  if (kept) return kept
  fetching(p, d.digest, 'layer')
  const file = p.store.path(d.digest)
  await p.repo.blobToFile(d, file, p.deadline)
  return file
}
