// A loopback token server for the e2e registry that demands bearer tokens, as Docker Hub's does: every
// request gets a pull token for the repository its scope names, anonymous or not, as a JWT signed (RS256,
// the certificate in its x5c header) by KEY, whose certificate CERT is the registry's root bundle, so the
// registry itself checks every token. One line a request to LOG: `METHOD scope`.
// usage: node token-server.mjs PORT KEY CERT ISSUER SERVICE LOG
import { Buffer } from 'node:buffer'
import console from 'node:console'
import { X509Certificate, createPrivateKey, randomUUID, sign } from 'node:crypto'
import { appendFileSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import process from 'node:process'
import { URL, URLSearchParams } from 'node:url'

const [port, keyFile, certFile, issuer, service, log] = process.argv.slice(2)
if (!log) {
  console.error('usage: node token-server.mjs PORT KEY CERT ISSUER SERVICE LOG')
  process.exit(2)
}
const key = createPrivateKey(readFileSync(keyFile))
const x5c = [new X509Certificate(readFileSync(certFile)).raw.toString('base64')]
const b64url = o => Buffer.from(JSON.stringify(o)).toString('base64url')

const server = createServer((req, res) => {
  let body = ''
  req.on('data', c => (body += c.toString()))
  req.on('end', () => {
    const url = new URL(req.url ?? '', 'http://token')
    const form = new URLSearchParams(req.method === 'POST' ? body : url.search)
    const scope = form.get('scope') ?? ''
    appendFileSync(log, `${req.method} ${scope}\n`)
    const [, name] = /^repository:([^:]+):pull$/.exec(scope) ?? []
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      iss: issuer,
      sub: 'anonymous',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: name ? [{ type: 'repository', name, actions: ['pull'] }] : []
    }
    const signed = `${b64url({ alg: 'RS256', typ: 'JWT', x5c })}.${b64url(claims)}`
    const token = `${signed}.${sign('sha256', Buffer.from(signed), key).toString('base64url')}`
    const answer = req.method === 'POST' ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
})
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${server.address().port}`))
