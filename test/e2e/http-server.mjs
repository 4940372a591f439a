// A loopback file server for the download tests: serves DIR, logs every request (one line each) to
// LOG, answers 404 for what it does not have, and never answers anything under /hang/ (nor anything
// at all when DIR is -, which makes a registry that hangs).
// usage: node http-server.mjs PORT DIR LOG
import { createReadStream, appendFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { join, normalize } from 'node:path'

const [port, root, log] = process.argv.slice(2)
createServer((req, res) => {
  appendFileSync(log, `${req.method} ${req.url}\n`)
  if (root === '-' || req.url.startsWith('/hang/')) return // hold the connection open, answer nothing
  const file = join(root, normalize(decodeURIComponent(req.url.split('?')[0])).replace(/^(\.\.[/\\])+/, ''))
  try {
    const st = statSync(file)
    if (!st.isFile()) throw new Error('not a file')
    res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/gzip' })
    createReadStream(file).pipe(res)
  } catch {
    res.writeHead(404).end('not found\n')
  }
}).listen(Number(port), '127.0.0.1')
