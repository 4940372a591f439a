/**
 * The client against real registries that demand auth: the registry's own htpasswd (Basic) with
 * credentials from a Docker config the test writes (auths, and a credential helper on PATH), and the
 * registry's token auth, with a token server written here that issues JWTs signed by a key whose
 * certificate (made with the openssl CLI) is in the registry's root bundle, so the registry itself
 * checks every token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import bcrypt from 'bcryptjs'
import { execFileSync } from 'node:child_process'
import { X509Certificate, createPrivateKey, randomUUID, sign } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as path from 'node:path'
import { hostPlatform } from '../../../src/platform/host.js'
import { RegistryClient, type PullOptions } from '../../../src/acquire/registry/index.js'
import { filesFor, testImage } from '../../acquire/registry/images.js'
import { freePort, push, removeTemps, requireTools, startRegistry, stopAll, tmp, type Registry } from './registry.js'

const HOST = hostPlatform().platforms[0]
const image = testImage([...new Set([HOST, 'linux/arm64', 'linux/s390x'])], 'auth')
const qemu = (m: string): boolean => /^usr\/bin\/qemu-/.test(m)
const expected = Object.fromEntries(Object.entries(filesFor(HOST, 'auth')).filter(([k]) => qemu(k)))
const contents = (files: { path: string; file: string }[]): Record<string, string> =>
  Object.fromEntries(files.map(f => [f.path, fs.readFileSync(f.file, 'utf8')]))
const pullOpts = (): PullOptions => ({ wanted: qemu, dir: path.join(tmp('out'), 'emulators'), maxBytes: 1 << 20 })
const lines: string[] = []
const log = { info: (m: string) => void lines.push(m), debug: (m: string) => void lines.push(m) }
const clients: RegistryClient[] = []
const client = (): RegistryClient => {
  const c = new RegistryClient({ timeout: 30, log, retries: { attempts: 1 } })
  clients.push(c)
  return c
}

const USER = 'builder'
const PASSWORD = 'correct horse battery staple'
const REFRESH = 'refresh-token-for-builder'

/** A Docker config for the client to find: DOCKER_CONFIG points at it. */
function dockerConfig(config: object): void {
  const dir = tmp('docker-config')
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config))
  process.env.DOCKER_CONFIG = dir
}
const basic = (user: string, password: string): { auth: string } => ({
  auth: Buffer.from(`${user}:${password}`).toString('base64')
})

let storage: string
let htpasswd: Registry
let tokens: Registry
let tokenServer: http.Server
const tokenRequests: { method: string; scope: string | null; service: string | null; who: string }[] = []
const bin = tmp('bin')
const savedPath = process.env.PATH

/** The token server: pull on `public/*` for anyone, on anything for the builder (password or refresh token). */
async function startTokenServer(keyFile: string, certFile: string): Promise<string> {
  const key = createPrivateKey(fs.readFileSync(keyFile))
  const x5c = [new X509Certificate(fs.readFileSync(certFile)).raw.toString('base64')]
  const b64url = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const port = await freePort()
  tokenServer = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const url = new URL(req.url ?? '', 'http://x')
      const form = new URLSearchParams(req.method === 'POST' ? body : url.search)
      const auth = req.headers.authorization
      let who = 'anonymous'
      if (auth) {
        const [u, p] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
          .toString()
          .split(/:(.*)/s)
        if (u !== USER || p !== PASSWORD) return void res.writeHead(401).end('{"details":"wrong password"}')
        who = USER
      }
      if (form.get('grant_type') === 'refresh_token') {
        if (form.get('refresh_token') !== REFRESH) return void res.writeHead(401).end('{"details":"wrong token"}')
        who = USER
      }
      const scope = form.get('scope')
      tokenRequests.push({ method: req.method ?? '', scope, service: form.get('service'), who })
      const [, name] = /^repository:([^:]+):pull$/.exec(scope ?? '') ?? []
      const allowed = name && (who === USER || name.startsWith('public/'))
      const now = Math.floor(Date.now() / 1000)
      const claims = {
        iss: 'setup-qemu-test-issuer',
        sub: who,
        aud: 'setup-qemu-test-registry',
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access: allowed ? [{ type: 'repository', name, actions: ['pull'] }] : []
      }
      const signed = `${b64url({ alg: 'RS256', typ: 'JWT', x5c })}.${b64url(claims)}`
      const token = `${signed}.${sign('sha256', Buffer.from(signed), key).toString('base64url')}`
      // an OAuth answer names it access_token, the older one token
      const answer = req.method === 'POST' ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    })
  })
  await new Promise<void>(resolve => tokenServer.listen(port, '127.0.0.1', resolve))
  return `http://127.0.0.1:${port}/token`
}

beforeAll(async () => {
  requireTools('docker-registry', 'openssl')
  storage = tmp('storage')
  const open = await startRegistry(storage)
  for (const repo of ['public/binfmt', 'private/binfmt']) await push(open.host, repo, 'v1', image)
  await open.stop()

  const auth = tmp('auth')
  fs.writeFileSync(path.join(auth, 'htpasswd'), `${USER}:${bcrypt.hashSync(PASSWORD, 10)}\n`)
  htpasswd = await startRegistry(storage, { htpasswd: { realm: 'setup-qemu-test', path: path.join(auth, 'htpasswd') } })

  const [keyFile, certFile] = [path.join(auth, 'key.pem'), path.join(auth, 'cert.pem')]
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=setup-qemu-test-tokens'
    ],
    { stdio: 'ignore' }
  )
  const realm = await startTokenServer(keyFile, certFile)
  tokens = await startRegistry(storage, {
    token: { realm, service: 'setup-qemu-test-registry', issuer: 'setup-qemu-test-issuer', rootcertbundle: certFile }
  })

  // a credential helper that knows the htpasswd registry only
  fs.writeFileSync(
    path.join(bin, 'docker-credential-setup-qemu-test'),
    `#!/bin/sh\nread -r server\n[ "$1" = get ] && [ "$server" = '${htpasswd.host}' ] || { echo 'credentials not found' >&2; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"\n`,
    { mode: 0o755 }
  )
  process.env.PATH = `${bin}:${savedPath}`
}, 60_000)

beforeEach(() => {
  lines.length = 0
  tokenRequests.length = 0
  dockerConfig({})
})

afterAll(async () => {
  process.env.PATH = savedPath
  for (const c of clients) c.close()
  await stopAll()
  await new Promise(resolve => (tokenServer ? tokenServer.close(resolve) : resolve(undefined)))
  removeTemps()
})

describe('Basic auth (htpasswd)', () => {
  it('is denied without credentials', async () => {
    await expect(client().pull(`${htpasswd.host}/public/binfmt:v1`, pullOpts())).rejects.toMatchObject({ kind: 'denied' })
  })

  it('pulls with the auths entry of the Docker config', async () => {
    dockerConfig({ auths: { [htpasswd.host]: basic(USER, PASSWORD) } })
    const r = await client().pull(`${htpasswd.host}/private/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(expected)
    expect(lines.join('\n')).not.toContain(PASSWORD)
  })

  it('is denied with a wrong password', async () => {
    dockerConfig({ auths: { [htpasswd.host]: basic(USER, 'wrong') } })
    await expect(client().resolve(`${htpasswd.host}/private/binfmt:v1`)).rejects.toMatchObject({ kind: 'denied' })
  })

  it('pulls with a credential helper named in credHelpers, found on PATH', async () => {
    dockerConfig({ credHelpers: { [htpasswd.host]: 'setup-qemu-test' } })
    const r = await client().pull(`${htpasswd.host}/private/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(expected)
  })

  it('goes on anonymously when the helper is missing, with a debug line, and is then denied', async () => {
    dockerConfig({ credHelpers: { [htpasswd.host]: 'not-installed' } })
    await expect(client().resolve(`${htpasswd.host}/private/binfmt:v1`)).rejects.toMatchObject({ kind: 'denied' })
    expect(lines).toContainEqual(expect.stringMatching(/^credential helper docker-credential-not-installed could not be run/))
  })
})

describe('token auth', () => {
  it('pulls a public repository with an anonymous token the registry accepts', async () => {
    const r = await client().pull(`${tokens.host}/public/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(expected)
    expect(tokenRequests).toEqual([
      { method: 'GET', scope: 'repository:public/binfmt:pull', service: 'setup-qemu-test-registry', who: 'anonymous' }
    ])
  })

  it('is denied a private repository anonymously: the token grants nothing', async () => {
    await expect(client().resolve(`${tokens.host}/private/binfmt:v1`)).rejects.toMatchObject({ kind: 'denied' })
  })

  it('pulls a private repository with user and password sent to the token server', async () => {
    dockerConfig({ auths: { [tokens.host]: basic(USER, PASSWORD) } })
    const r = await client().pull(`${tokens.host}/private/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(expected)
    expect(tokenRequests.map(t => t.who)).toEqual([USER])
  })

  it('pulls a private repository with an identity token traded as a refresh token', async () => {
    dockerConfig({ auths: { [tokens.host]: { identitytoken: REFRESH } } })
    const r = await client().pull(`${tokens.host}/private/binfmt:v1`, pullOpts())
    expect(contents(r.files)).toEqual(expected)
    expect(tokenRequests.map(t => `${t.method} ${t.who}`)).toEqual([`POST ${USER}`])
    expect(lines.join('\n')).not.toContain(REFRESH)
  })

  it('is denied when the token server refuses the credentials', async () => {
    dockerConfig({ auths: { [tokens.host]: basic(USER, 'wrong') } })
    const run = client().resolve(`${tokens.host}/private/binfmt:v1`)
    await expect(run).rejects.toMatchObject({ kind: 'denied' })
    await expect(run).rejects.toThrow(/getting a token for .* HTTP 401/)
  })
})
