/**
 * Docker Hub as the client reaches it from a runner behind a proxy, with a registry mirror: a stand-in for
 * registry-1.docker.io (docker-registry over HTTPS, its certificate from a CA made here with openssl),
 * reached only through test/e2e/connect-proxy.mjs as HTTPS_PROXY, with the CA in NODE_EXTRA_CA_CERTS. Node
 * reads those when it starts, so the client runs in a child process, from src/ as tsc compiles it. A mirror
 * that serves the pinned image is used and the proxy sees nothing; one that serves other bytes under that
 * name is passed over, as the log says, and the image comes through the proxy from the stand-in; a tag is
 * resolved at Docker Hub (through the proxy), never at the mirror.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { hostPlatform } from '../../../src/platform/host.js'
import { filesFor, testImage } from '../../acquire/registry/images.js'
import { freePort, push, removeTemps, requireTools, startRegistry, stopAll, tamper, tmp, type Registry } from './registry.js'

const HOST = hostPlatform().platforms[0]
const image = testImage([HOST, HOST === 'linux/s390x' ? 'linux/amd64' : 'linux/s390x'], 'hub')
const PINNED = `docker.io/tonistiigi/binfmt:test@${image.index.digest}`
const expected = Object.fromEntries(Object.entries(filesFor(HOST, 'hub')).filter(([k]) => k.startsWith('usr/bin/qemu-')))

let build: string
let ca: string
let proxyLog: string
let proxy: ChildProcess
let proxyPort = 0
let goodMirror: Registry
let badMirror: Registry

beforeAll(async () => {
  requireTools('docker-registry', 'openssl')
  // the client, compiled, beside the repository's node_modules
  build = tmp('build')
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '--outDir', build, '--noEmit', 'false'], {
    stdio: 'inherit'
  })
  fs.writeFileSync(path.join(build, 'package.json'), '{ "type": "module" }\n')
  fs.symlinkSync(path.resolve('node_modules'), path.join(build, 'node_modules'))

  const pki = tmp('pki')
  ca = path.join(pki, 'ca.pem')
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' })
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=setup-qemu-test-ca'
  )
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'hub.key', '-out', 'hub.csr', '-subj', '/CN=registry-1.docker.io')
  fs.writeFileSync(path.join(pki, 'hub.ext'), 'subjectAltName=DNS:registry-1.docker.io\nextendedKeyUsage=serverAuth\n')
  openssl(
    'x509',
    '-req',
    '-in',
    'hub.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'hub.pem',
    '-days',
    '2',
    '-extfile',
    'hub.ext'
  )

  const storage = tmp('hub')
  goodMirror = await startRegistry(storage) // the same storage: the same content, plain HTTP on loopback
  await push(goodMirror.host, 'tonistiigi/binfmt', 'test', image)
  const badStorage = tmp('bad-mirror')
  fs.cpSync(storage, badStorage, { recursive: true })
  tamper(badStorage, image.index.digest)
  badMirror = await startRegistry(badStorage)
  const hub = await startRegistry(storage, undefined, { certificate: path.join(pki, 'hub.pem'), key: path.join(pki, 'hub.key') })

  proxyPort = await freePort()
  proxyLog = path.join(tmp('proxy'), 'proxy.log')
  fs.writeFileSync(proxyLog, '')
  proxy = spawn(
    process.execPath,
    ['test/e2e/connect-proxy.mjs', String(proxyPort), proxyLog, `registry-1.docker.io:443=${hub.host}`],
    {
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  await new Promise<void>((resolve, reject) => {
    proxy.stdout?.on('data', (c: Buffer) => /listening/.test(c.toString()) && resolve())
    proxy.on('exit', code => reject(new Error(`the proxy exited (${code})`)))
  })
}, 120_000)

afterAll(async () => {
  proxy?.kill()
  await stopAll()
  removeTemps()
})

interface Pulled {
  from?: string
  mirrorFailure?: string
  files?: Record<string, string>
  error?: string
  lines: string[]
}

/** Pulls ref in a Node started as a runner's would be: HTTPS_PROXY set, the stand-in's CA trusted. */
function pull(ref: string, mirror?: string): Pulled {
  const script = path.join(build, 'pull.mjs')
  fs.writeFileSync(
    script,
    `const { RegistryClient } = await import(${JSON.stringify(path.join(build, 'src/acquire/registry/index.js'))})
const fs = await import('node:fs')
const [ref, mirror, dir] = process.argv.slice(2)
const lines = []
const c = new RegistryClient({ timeout: 20, retries: { attempts: 2, firstDelay: 0.1 }, mirror: mirror ? { host: mirror } : undefined,
  log: { info: m => lines.push(m), debug: () => {} } })
try {
  const r = await c.pull(ref, { wanted: m => m.startsWith('usr/bin/qemu-'), dir, maxBytes: 1 << 24 })
  const files = Object.fromEntries(r.files.map(f => [f.path, fs.readFileSync(f.file, 'utf8')]))
  console.log(JSON.stringify({ from: r.from, mirrorFailure: r.mirrorFailure, files, lines }))
} catch (e) {
  console.log(JSON.stringify({ error: e.message, lines }))
} finally {
  c.close()
}
`
  )
  fs.writeFileSync(proxyLog, '')
  const out = execFileSync(process.execPath, [script, ref, mirror ?? '', path.join(tmp('out'), 'emulators')], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
      NODE_EXTRA_CA_CERTS: ca,
      DOCKER_CONFIG: tmp('docker-config')
    }
  })
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Pulled
}
const connects = (): string[] => fs.readFileSync(proxyLog, 'utf8').split('\n').filter(Boolean)

describe("Docker Hub through the step's proxy", () => {
  it('serves the pinned image through the proxy, with the stand-in trusted', () => {
    const r = pull(PINNED)
    expect(r).toMatchObject({ from: 'source', files: expected })
    expect(connects().length).toBeGreaterThan(0)
    expect(connects().filter(l => !l.startsWith('CONNECT registry-1.docker.io:443 -> 127.0.0.1:'))).toEqual([])
  })
})

describe('a registry mirror for Docker Hub', () => {
  it('that serves the pinned image is used, and nothing goes through the proxy', () => {
    const r = pull(PINNED, goodMirror.host)
    expect(r).toMatchObject({ from: 'mirror', files: expected })
    expect(connects()).toEqual([])
  })

  it('that serves other bytes under that name is passed over, as the log says, for Docker Hub through the proxy', () => {
    const r = pull(PINNED, badMirror.host)
    expect(r).toMatchObject({ from: 'source', files: expected })
    expect(r.mirrorFailure).toMatch(/^it served other content: the manifest .* does not match its digest/)
    expect(r.lines).toContainEqual(
      expect.stringMatching(new RegExp(`^the mirror ${badMirror.host} could not be used .*; fetching from docker\\.io instead$`))
    )
    expect(connects().length).toBeGreaterThan(0)
  })

  it('is not asked what a tag names: Docker Hub resolves it, through the proxy, and the mirror serves the content', () => {
    const r = pull('docker.io/tonistiigi/binfmt:test', goodMirror.host)
    expect(r).toMatchObject({ from: 'mirror', files: expected })
    expect(connects().length).toBeGreaterThan(0)
  })
})
