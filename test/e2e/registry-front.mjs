// A loopback reverse proxy in front of the e2e registry, for the pull tests: it logs every request (one
// line each, `METHOD path`, with ` -> fault KIND` when it faulted it) to LOG and forwards it to UPSTREAM,
// streaming bodies both ways, with an absolute Location that names the upstream rewritten to name this
// front. Faults come from the file `fail` in CONTROL_DIR, read on every request, so a test changes them
// without a restart:
//
//   <count> <kind> [scope] [agent]
//
//   count  how many matching requests to fault; each one faulted counts down (the file is rewritten);
//          -1 means always, 0 means no more
//   kind   503 | 429 | 401 (with WWW-Authenticate: Basic realm="test") | 403 (DENIED) | 404 (a
//          registry-style JSON error: MANIFEST_UNKNOWN, BLOB_UNKNOWN for blobs) | drop (the socket destroyed,
//          no answer) | hang (never answered)
//   scope  v2 (default: every request under /v2/ but the bare /v2/ ping) | manifests | blobs |
//          any (the ping too)
//   agent  only requests whose User-Agent contains this word (the action's own client sends `setup-qemu`,
//          the Docker engine `docker/…`): a registry that refuses one client and serves another
//
// No file, an empty one, or a count of 0: nothing is faulted.
// usage: node registry-front.mjs PORT UPSTREAM LOG CONTROL_DIR   (UPSTREAM: host:port or http://host:port)
import { Buffer } from 'node:buffer'
import console from 'node:console'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { Agent, createServer, request } from 'node:http'
import { join } from 'node:path'
import process from 'node:process'
import { URL } from 'node:url'

const [port, upstreamArg, log, control] = process.argv.slice(2)
if (!port || !upstreamArg || !log || !control) {
  console.error('usage: node registry-front.mjs PORT UPSTREAM LOG CONTROL_DIR')
  process.exit(2)
}
const upstream = new URL(upstreamArg.includes('://') ? upstreamArg : `http://${upstreamArg}`)
const agent = new Agent({ keepAlive: true })
const FAIL = join(control, 'fail')
const KINDS = new Set(['503', '429', '401', '403', '404', 'drop', 'hang'])
const SCOPES = new Set(['v2', 'manifests', 'blobs', 'any'])
// headers of one hop, never forwarded
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade'
])

function inScope(scope, path) {
  if (scope === 'any') return true
  if (!path.startsWith('/v2/')) return false
  if (scope === 'manifests') return /^\/v2\/.+\/manifests\/[^/]+$/.test(path)
  if (scope === 'blobs') return /^\/v2\/.+\/blobs\/[^/]+$/.test(path)
  return path !== '/v2/' // v2
}

/** The fault for this request, counted down in the file; undefined when there is none. */
function faultFor(path, userAgent) {
  let text
  try {
    text = readFileSync(FAIL, 'utf8')
  } catch {
    return undefined
  }
  if (text.trim() === '') return undefined
  const m = /^\s*(-?\d+)\s+(\S+)(?:\s+(\S+))?(?:\s+(\S+))?\s*$/.exec(text)
  if (!m || !KINDS.has(m[2]) || (m[3] && !SCOPES.has(m[3]))) {
    console.error(`registry-front: ignoring ${FAIL}: ${JSON.stringify(text)}`)
    return undefined
  }
  const [count, kind, scope = 'v2', agent] = [Number(m[1]), m[2], m[3], m[4]]
  if (count === 0 || !inScope(scope, path) || (agent && !(userAgent ?? '').includes(agent))) return undefined
  if (count > 0) writeFileSync(FAIL, `${count - 1} ${kind} ${scope}${agent ? ` ${agent}` : ''}\n`)
  return kind
}

const json = (res, status, headers, code, message) => {
  const body = JSON.stringify({ errors: [{ code, message, detail: null }] })
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

function fault(kind, req, res, path) {
  switch (kind) {
    case 'drop':
      req.socket.destroy()
      return
    case 'hang':
      return // hold the connection open, answer nothing
    case '503':
      return json(res, 503, {}, 'UNAVAILABLE', 'service unavailable')
    case '429':
      return json(res, 429, {}, 'TOOMANYREQUESTS', 'too many requests')
    case '401':
      return json(res, 401, { 'www-authenticate': 'Basic realm="test"' }, 'UNAUTHORIZED', 'authentication required')
    case '403':
      return json(res, 403, {}, 'DENIED', 'requested access to the resource is denied')
    case '404':
      return /\/blobs\//.test(path)
        ? json(res, 404, {}, 'BLOB_UNKNOWN', 'blob unknown to registry')
        : json(res, 404, {}, 'MANIFEST_UNKNOWN', 'manifest unknown')
  }
}

/** Response headers as the client should see them: one hop's removed, Location pointed at this front. */
function outgoing(headers, front) {
  const out = {}
  for (const [k, v] of Object.entries(headers)) {
    if (HOP.has(k)) continue
    if (k === 'location' && front) {
      try {
        const loc = new URL(v)
        if (loc.host === upstream.host) {
          loc.host = front
          out[k] = loc.toString()
          continue
        }
      } catch {
        // relative: as it is
      }
    }
    out[k] = v
  }
  return out
}

createServer((req, res) => {
  const path = req.url.split('?')[0]
  const kind = faultFor(path, req.headers['user-agent'])
  appendFileSync(log, `${req.method} ${req.url}${kind ? ` -> fault ${kind}` : ''}\n`)
  if (kind) return fault(kind, req, res, path)
  const headers = {}
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v
  headers.host = upstream.host
  const up = request(
    { host: upstream.hostname, port: upstream.port || 80, method: req.method, path: req.url, headers, agent },
    upRes => {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, outgoing(upRes.headers, req.headers.host))
      upRes.pipe(res)
      upRes.on('error', () => res.destroy())
    }
  )
  up.on('error', err => {
    if (res.headersSent) return res.destroy()
    const body = `registry-front: upstream ${upstream.host}: ${err.message}\n`
    res.writeHead(502, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body)
  })
  req.pipe(up)
  // the client went away: so does the upstream request
  res.on('close', () => {
    if (!res.writableFinished) up.destroy()
  })
}).listen(Number(port), '127.0.0.1')
