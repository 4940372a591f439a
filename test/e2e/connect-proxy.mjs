// A loopback HTTPS proxy for the e2e tests that stand Docker Hub in with a registry of their own: it answers
// CONNECT host:port for the routes it is given by tunnelling to their targets, refuses every other CONNECT
// (403) and every plain request (405), and logs one line a request to LOG: `CONNECT host:port -> target` or
// `... -> refused`. With it as the step's HTTPS_PROXY, and the stand-in's CA in NODE_EXTRA_CA_CERTS, the
// action's own client reaches "registry-1.docker.io" on 127.0.0.1, and the Docker engine is not affected.
// usage: node connect-proxy.mjs PORT LOG HOST:PORT=TARGET_HOST:TARGET_PORT ...
import console from 'node:console'
import { appendFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect } from 'node:net'
import process from 'node:process'

const [port, log, ...specs] = process.argv.slice(2)
if (!port || !log || specs.length === 0) {
  console.error('usage: node connect-proxy.mjs PORT LOG HOST:PORT=TARGET_HOST:TARGET_PORT ...')
  process.exit(2)
}
const routes = new Map(specs.map(s => s.split('=')))

const server = createServer((req, res) => {
  appendFileSync(log, `${req.method} ${req.url} -> refused\n`)
  res.writeHead(405).end('only CONNECT\n')
})
server.on('connect', (req, client, head) => {
  const target = routes.get(req.url)
  appendFileSync(log, `CONNECT ${req.url} -> ${target ?? 'refused'}\n`)
  if (!target) {
    client.end('HTTP/1.1 403 Forbidden\r\n\r\n')
    return
  }
  const [host, targetPort] = target.split(':')
  const upstream = connect(Number(targetPort), host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length) upstream.write(head)
    upstream.pipe(client)
    client.pipe(upstream)
  })
  const close = () => {
    upstream.destroy()
    client.destroy()
  }
  upstream.on('error', close)
  client.on('error', close)
})
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${server.address().port}`))
