// A loopback stand-in of the GitHub Actions cache service (v2), for tests that drive the real
// @actions/cache: the Twirp JSON API that ACTIONS_RESULTS_URL points at, and a blob store that the
// signed URLs point back at. The blob store answers what the Azure SDK sends to upload (Put Blob, Put
// Block, Put Block List) and a plain GET or HEAD, with Range, for downloads. Entries live under DATADIR
// (index.json, blobs/<id>), so a test can damage a blob on disk, and a restart keeps them. A file `delay`
// in DATADIR holding a number of milliseconds holds every download that long before it is answered (a
// slow service), read on each request. One line per
// request to LOG: method and path, and ?comp= for the block calls (never the signature). Prints
// "listening PORT" once it accepts connections (PORT 0 picks a free one).
// usage: node cache-service.mjs PORT DATADIR LOG
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto'
import { appendFileSync, createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs'
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'

const [port, dataDir, log] = process.argv.slice(2)
const blobs = join(dataDir, 'blobs')
mkdirSync(blobs, { recursive: true })
const indexFile = join(dataDir, 'index.json')
// the signing secret is kept with the entries, so URLs handed out before a restart still work
const db = existsSync(indexFile)
  ? JSON.parse(readFileSync(indexFile, 'utf8'))
  : { secret: randomBytes(16).toString('hex'), next: 1, entries: [] }
const save = () => {
  writeFileSync(`${indexFile}.tmp`, JSON.stringify(db, null, 1))
  renameSync(`${indexFile}.tmp`, indexFile) // a reader (or a crash) never sees half an index
}
const blobFile = id => join(blobs, String(id))
const blockDir = id => join(blobs, `${id}.blocks`)

// --- Twirp: errors are JSON {code, msg} with the HTTP status Twirp assigns to the code; the client
// parses every body as JSON and retries on a body that is not, so even errors must be JSON.
const STATUS = { bad_route: 404, malformed: 400, invalid_argument: 400, unauthenticated: 401, not_found: 404 }
Object.assign(STATUS, { already_exists: 409, internal: 500 })
function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}
const twirpError = (res, code, msg) => send(res, STATUS[code], { code, msg })

// A SAS-like URL: sp is the permission, sig an HMAC over it and the entry, so a URL for reading
// cannot be used to write and a made-up one is refused (as Azure answers 403 AuthenticationFailed).
const sign = (id, sp) => createHmac('sha256', db.secret).update(`${sp}\n${id}`).digest('base64url')
const blobUrl = (req, id, sp) =>
  `http://${req.headers.host}/devstoreaccount1/actions-cache/${id}?sv=2025-11-05&sr=b&sp=${sp}&sig=${sign(id, sp)}`

const byNewest = (a, b) => b.id - a.id
const methods = {
  // The documented order: for the key and then each restore key, an exact match, else the newest
  // entry whose key starts with it; only entries of the same version that were finalized count.
  GetCacheEntryDownloadURL(req, res, m) {
    const ready = db.entries.filter(e => e.finalized && e.version === m.version)
    for (const k of [m.key, ...(Array.isArray(m.restore_keys) ? m.restore_keys : [])]) {
      if (typeof k !== 'string' || k === '') continue
      const hit = ready.find(e => e.key === k) ?? ready.filter(e => e.key.startsWith(k)).sort(byNewest)[0]
      if (hit) return send(res, 200, { ok: true, signed_download_url: blobUrl(req, hit.id, 'r'), matched_key: hit.key })
    }
    send(res, 200, { ok: false, signed_download_url: '', matched_key: '' })
  },
  // A key+version is reserved once: a second attempt, while the first uploads or after it finished,
  // gets what github.com answers, a Twirp already_exists (HTTP 409) with this very message.
  CreateCacheEntry(req, res, m) {
    if (db.entries.some(e => e.key === m.key && e.version === m.version))
      return twirpError(res, 'already_exists', 'cache entry with the same key, version, and scope already exists')
    const entry = { id: db.next++, key: m.key, version: m.version, created: new Date().toISOString(), finalized: false }
    db.entries.push(entry)
    save()
    send(res, 200, { ok: true, signed_upload_url: blobUrl(req, entry.id, 'cw') })
  },
  // Makes the entry visible to restores, once what was uploaded has the size the client announces.
  FinalizeCacheEntryUpload(req, res, m) {
    const entry = db.entries.find(e => e.key === m.key && e.version === m.version && !e.finalized)
    if (!entry) return twirpError(res, 'not_found', 'cache entry not found')
    const size = existsSync(blobFile(entry.id)) ? statSync(blobFile(entry.id)).size : -1
    if (String(size) !== String(m.size_bytes ?? 0))
      return twirpError(res, 'invalid_argument', `size_bytes ${m.size_bytes} does not match the ${size} bytes uploaded`)
    Object.assign(entry, { finalized: true, size })
    save()
    send(res, 200, { ok: true, entry_id: String(entry.id) }) // int64 is a string in proto3 JSON
  }
}

async function twirp(req, res, method) {
  if (req.method !== 'POST' || !Object.hasOwn(methods, method))
    return twirpError(res, 'bad_route', `no handler for path "${req.url.split('?')[0]}"`)
  if (!/^Bearer \S/.test(req.headers.authorization ?? '')) return twirpError(res, 'unauthenticated', 'missing bearer token')
  const chunks = []
  for await (const c of req) chunks.push(c)
  let m
  try {
    m = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return twirpError(res, 'malformed', 'the request body is not JSON')
  }
  if (typeof m !== 'object' || m === null || typeof m.key !== 'string' || !m.key || typeof m.version !== 'string' || !m.version)
    return twirpError(res, 'invalid_argument', 'key and version are required')
  methods[method](req, res, m)
}

// --- the blob store, answered the way Azure Storage answers: XML errors with x-ms-error-code, 201
// Created for every upload call, and the headers the SDK reads back.
function azureHeaders(req, more = {}) {
  const h = { 'x-ms-request-id': randomUUID(), 'x-ms-version': '2025-11-05', date: new Date().toUTCString(), ...more }
  if (req.headers['x-ms-client-request-id']) h['x-ms-client-request-id'] = req.headers['x-ms-client-request-id']
  return h
}
function azureError(req, res, status, code, message) {
  const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`
  res.writeHead(
    status,
    azureHeaders(req, { 'x-ms-error-code': code, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) })
  )
  res.end(req.method === 'HEAD' ? undefined : xml)
}
const etagOf = st =>
  `"0x${Math.round(st.mtimeMs * 1e4)
    .toString(16)
    .toUpperCase()}"`
const stored = (file, md5) => {
  const st = statSync(file)
  return { etag: etagOf(st), 'last-modified': st.mtime.toUTCString(), ...(md5 ? { 'content-md5': md5 } : {}) }
}

// Streams the request body to file (through a temporary name) and returns its MD5, as base64.
async function receive(req, file) {
  const md5 = createHash('md5')
  req.on('data', c => md5.update(c))
  await pipeline(req, createWriteStream(`${file}.part`))
  renameSync(`${file}.part`, file)
  return md5.digest('base64')
}

async function blob(req, res, url, entry) {
  const sp = url.searchParams.get('sp') ?? ''
  if (url.searchParams.get('sig') !== sign(entry.id, sp))
    return azureError(req, res, 403, 'AuthenticationFailed', 'Signature did not match.')
  const write = req.method === 'PUT' && sp.includes('w') && !entry.finalized
  const comp = url.searchParams.get('comp')
  if (write && comp === 'block') {
    const id = url.searchParams.get('blockid') ?? ''
    if (!id) return azureError(req, res, 400, 'InvalidQueryParameterValue', 'blockid is required.')
    mkdirSync(blockDir(entry.id), { recursive: true })
    const md5 = await receive(req, join(blockDir(entry.id), Buffer.from(id).toString('hex')))
    return res
      .writeHead(201, azureHeaders(req, { 'content-md5': md5, 'x-ms-request-server-encrypted': 'true', 'content-length': 0 }))
      .end()
  }
  if (write && comp === 'blocklist') {
    const chunks = []
    for await (const c of req) chunks.push(c)
    const ids = [
      ...Buffer.concat(chunks)
        .toString('utf8')
        .matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g)
    ]
    const parts = ids.map(m => join(blockDir(entry.id), Buffer.from(m[2]).toString('hex')))
    if (parts.some(p => !existsSync(p)))
      return azureError(req, res, 400, 'InvalidBlockList', 'The specified block list is invalid.')
    const tmp = `${blobFile(entry.id)}.part`
    writeFileSync(tmp, '')
    for (const p of parts) appendFileSync(tmp, readFileSync(p))
    renameSync(tmp, blobFile(entry.id))
    rmSync(blockDir(entry.id), { recursive: true, force: true })
    delete entry.md5 // Azure keeps no Content-MD5 for a blob made of blocks
    save()
    const h = { ...stored(blobFile(entry.id)), 'x-ms-request-server-encrypted': 'true', 'content-length': 0 }
    return res.writeHead(201, azureHeaders(req, h)).end()
  }
  if (write && comp === null) {
    if (req.headers['x-ms-blob-type'] !== 'BlockBlob')
      return azureError(
        req,
        res,
        400,
        'MissingRequiredHeader',
        'An HTTP header that is mandatory for this request is not specified.'
      )
    entry.md5 = await receive(req, blobFile(entry.id))
    save()
    const h = { ...stored(blobFile(entry.id), entry.md5), 'x-ms-request-server-encrypted': 'true', 'content-length': 0 }
    return res.writeHead(201, azureHeaders(req, h)).end()
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && sp.includes('r') && comp === null && existsSync(blobFile(entry.id))) {
    return await download(req, res, blobFile(entry.id), entry)
  }
  if (req.method === 'PUT' || comp !== null)
    return azureError(req, res, 403, 'AuthorizationPermissionMismatch', 'This request is not authorized.')
  azureError(req, res, 404, 'BlobNotFound', 'The specified blob does not exist.')
}

/** The delay the test asked for (DATADIR/delay), in milliseconds. */
function delayMs() {
  try {
    return Number(readFileSync(join(dataDir, 'delay'), 'utf8').trim()) || 0
  } catch {
    return 0
  }
}

// Serves what is on disk now: a blob shortened on disk is served shortened, with its true length.
async function download(req, res, file, entry) {
  const wait = delayMs()
  if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
  const st = statSync(file)
  const h = {
    ...stored(file),
    'accept-ranges': 'bytes',
    'x-ms-blob-type': 'BlockBlob',
    'content-type': 'application/octet-stream'
  }
  let [start, end, status] = [0, st.size - 1, 200]
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers['x-ms-range'] ?? req.headers.range ?? '')
  if (range && (range[1] || range[2])) {
    start = range[1] ? Number(range[1]) : Math.max(0, st.size - Number(range[2]))
    end = range[1] && range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1
    if (start > end) {
      res.writeHead(
        416,
        azureHeaders(req, { 'content-range': `bytes */${st.size}`, 'x-ms-error-code': 'InvalidRange', 'content-length': 0 })
      )
      return res.end()
    }
    Object.assign(h, { 'content-range': `bytes ${start}-${end}/${st.size}` })
    status = 206
  } else if (entry.md5) h['content-md5'] = entry.md5 // as Azure does, the MD5 recorded at upload
  res.writeHead(status, azureHeaders(req, { ...h, 'content-length': end - start + 1 }))
  if (req.method === 'HEAD' || end < start) return res.end()
  createReadStream(file, { start, end, highWaterMark: 1 << 20 }).pipe(res)
}

const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/'
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://stand-in')
  const comp = url.searchParams.get('comp')
  appendFileSync(log, `${req.method} ${url.pathname}${comp ? `?comp=${comp}` : ''}\n`)
  try {
    if (url.pathname.startsWith(TWIRP)) return await twirp(req, res, url.pathname.slice(TWIRP.length))
    const m = /^\/devstoreaccount1\/actions-cache\/(\d+)$/.exec(url.pathname)
    const entry = m && db.entries.find(e => e.id === Number(m[1]))
    if (entry) return await blob(req, res, url, entry)
    if (m) return azureError(req, res, 404, 'BlobNotFound', 'The specified blob does not exist.')
    twirpError(res, 'bad_route', `no handler for path "${url.pathname}"`)
  } catch (err) {
    // a client that went away mid-upload, or a disk error: answer if still possible, never exit
    if (!res.headersSent) twirpError(res, 'internal', String(err?.message ?? err))
    else res.destroy()
  }
})
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${server.address().port}`))
