/**
 * A small HTTP server on 127.0.0.1 that speaks enough of the registry API to serve test images, and
 * can misbehave on purpose: other bytes for a digest, errors, no answer, auth challenges. Unit tests
 * use it where a real registry would not misbehave on demand.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Blob } from './images.js'

export interface Seen {
  method: string
  url: string
  authorization?: string
}

export type Hook = (req: http.IncomingMessage, res: http.ServerResponse) => boolean

export class FakeRegistry {
  readonly blobs = new Map<string, Blob>()
  readonly tags = new Map<string, Blob>()
  /** other bytes to serve for a digest */
  readonly tampered = new Map<string, Buffer>()
  readonly seen: Seen[] = []
  /** runs first; true when it has answered */
  hook?: Hook
  private server?: http.Server

  add(...blobs: Blob[]): this {
    for (const b of blobs) this.blobs.set(b.digest, b)
    return this
  }

  tag(name: string, b: Blob): this {
    this.tags.set(name, b)
    return this.add(b)
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.serve(req, res))
    await new Promise<void>(resolve => this.server?.listen(0, '127.0.0.1', resolve))
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>(resolve => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization })
    if (this.hook?.(req, res)) return
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/?]+)$/.exec(req.url ?? '')
    if (req.url === '/v2/') return void res.writeHead(200).end('{}')
    const b = m && (m[3].startsWith('sha256:') ? this.blobs.get(m[3]) : m[2] === 'manifests' ? this.tags.get(m[3]) : undefined)
    if (!m || !b) {
      res.writeHead(404, { 'content-type': 'application/json' })
      return void res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }))
    }
    const bytes = this.tampered.get(b.digest) ?? b.bytes
    res.writeHead(200, {
      'content-type': m[2] === 'manifests' ? b.mediaType : 'application/octet-stream',
      'content-length': bytes.length,
      'docker-content-digest': b.digest
    })
    res.end(req.method === 'HEAD' ? undefined : bytes)
  }
}
