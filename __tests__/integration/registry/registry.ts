/**
 * Real registries for the integration tests: Debian's `docker-registry` (distribution 2.x) on
 * 127.0.0.1, each on a free port with its own config and storage in a temp dir, filled through the
 * registry's own HTTP API (blob upload, manifest PUT). A missing tool fails the tests, saying what to
 * install; nothing is skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Blob, TestImage } from '../../acquire/registry/images.js'

/** Throws unless every tool is on PATH. */
export function requireTools(...tools: string[]): void {
  const missing = tools.filter(t => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0)
  if (missing.length > 0) {
    throw new Error(
      `the registry integration tests need ${missing.join(' and ')}: install them (apt-get install -y ${missing.join(' ')}) and run again`
    )
  }
}

const made: string[] = []
export const tmp = (p: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sq-reg-${p}-`))
  made.push(dir)
  return dir
}
export const removeTemps = (): void => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}

/** ports the end-to-end tier uses on this machine */
const TAKEN = new Set([5000, 5001, 8089, 8090, 2375, 2376, 2377, 2378, 2379, 2380])

/** A port free on 127.0.0.1 now, chosen by the kernel. */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    await new Promise<void>(resolve => server.close(() => resolve()))
    if (!TAKEN.has(port)) return port
  }
}

export interface Registry {
  /** 127.0.0.1:<port> */
  host: string
  storage: string
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()

/** A certificate and key for a registry that serves HTTPS. */
export interface Tls {
  certificate: string
  key: string
}

/** Whether something accepts connections on host:port now. */
const listening = (host: string): Promise<boolean> =>
  new Promise(resolve => {
    const [name, port] = host.split(':')
    const s = net.connect(Number(port), name, () => (s.destroy(), resolve(true)))
    s.on('error', () => resolve(false))
  })

/** Starts docker-registry on storage with the auth section given (and HTTPS with tls); resolves once it answers. */
export async function startRegistry(storage: string, auth?: object, tls?: Tls): Promise<Registry> {
  const port = await freePort()
  const dir = tmp('config')
  const config = {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } }
    },
    http: { addr: `127.0.0.1:${port}`, secret: 'integration-test-secret', ...(tls ? { tls } : {}) },
    ...(auth ? { auth } : {})
  }
  // YAML reads JSON
  fs.writeFileSync(path.join(dir, 'config.yml'), JSON.stringify(config, null, 2))
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  const host = `127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    running.delete(child)
  }
  const until = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited at start (${child.exitCode}): ${stderr}`)
    // an HTTPS registry's certificate is for the name it stands in for: a connection is enough
    const status = tls
      ? (await listening(host))
        ? 200
        : 0
      : await fetch(`http://${host}/v2/`).then(
          r => r.status,
          () => 0
        )
    if (status === 200 || status === 401) return { host, storage, stop }
    if (Date.now() > until) {
      await stop()
      throw new Error(`docker-registry did not answer on ${host}: ${stderr}`)
    }
    await new Promise(r => setTimeout(r, 50))
  }
}

/** Stops every registry still running (the end of a test file). */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(async child => {
      const exited = new Promise(resolve => child.once('exit', resolve))
      if (child.kill('SIGTERM')) await exited
    })
  )
  running.clear()
}

async function ok(r: Response, what: string): Promise<Response> {
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status} ${await r.text()}`)
  return r
}

async function pushBlob(host: string, repo: string, b: Blob): Promise<void> {
  const start = await ok(
    await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' }),
    `starting the upload of ${b.digest}`
  )
  const location = new URL(start.headers.get('location') ?? '', `http://${host}`)
  location.searchParams.set('digest', b.digest)
  const headers = { 'content-type': 'application/octet-stream', 'content-length': String(b.bytes.length) }
  await ok(await fetch(location, { method: 'PUT', headers, body: new Uint8Array(b.bytes) }), `uploading ${b.digest}`)
}

async function pushManifest(host: string, repo: string, reference: string, b: Blob): Promise<void> {
  const headers = { 'content-type': b.mediaType }
  await ok(
    await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, { method: 'PUT', headers, body: new Uint8Array(b.bytes) }),
    `putting ${reference}`
  )
}

/** Pushes a test image to repo:tag through the API of a registry without auth. */
export async function push(host: string, repo: string, tag: string, image: TestImage): Promise<void> {
  const isManifest = (b: Blob): boolean => b.mediaType.includes('manifest') || b.mediaType.includes('index')
  for (const b of image.all.filter(x => !isManifest(x))) await pushBlob(host, repo, b)
  for (const b of image.all.filter(x => isManifest(x) && x.digest !== image.index.digest))
    await pushManifest(host, repo, b.digest, b)
  await pushManifest(host, repo, tag, image.index)
}

/**
 * Overwrites what the registry's storage holds for digest with other bytes of the same length. A JSON
 * document stays valid JSON (the registry parses manifests before it serves them): one hex digit of
 * the first digest in it changes.
 */
export function tamper(storage: string, digest: string): void {
  const hex = digest.slice('sha256:'.length)
  const file = path.join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')
  const bytes = fs.readFileSync(file)
  const at = bytes[0] === 0x7b ? bytes.indexOf('sha256:') + 7 : bytes.length - 2
  bytes[at] = bytes[at] === 0x30 ? 0x31 : 0x30
  fs.writeFileSync(file, bytes)
}
