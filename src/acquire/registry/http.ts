/**
 * HTTP for the registry client, over the toolkit's client (it goes through https_proxy and honours
 * no_proxy). Three rules are kept here for every request, redirects included:
 * - HTTPS, or plain HTTP to a loopback host only (a loopback registry is tried over HTTPS first);
 * - no Authorization header leaves the origin it was meant for;
 * - each request, body included, ends by the caller's deadline.
 */
import type { HttpClient } from '@actions/http-client'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { RegistryError, shown } from './errors.js'
import { isLoopback } from './reference.js'

export interface Request {
  method: 'GET' | 'HEAD' | 'POST'
  headers?: Record<string, string>
  body?: string
}

export interface Response {
  status: number
  headers: IncomingHttpHeaders
  /** the URL that answered, after redirects */
  url: URL
  /** the body, destroyed at the deadline if it is still being read then */
  body: IncomingMessage
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5
/** a connection silent this long is given up, whatever time is left */
const IDLE_MS = 30_000

export const header = (r: Response, name: string): string | undefined => {
  const v = r.headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}

/** Reads and drops what is left of a body, so its connection can be reused or closed. */
export const discard = (r: Response): void => void r.body.resume()

export class Transport {
  private readonly clients = new Map<string, Promise<HttpClient>>()
  /** per host, the scheme it answered on */
  private readonly schemes = new Map<string, 'https:' | 'http:'>()

  /** A request to host's `path`, over the scheme the host speaks. */
  async send(host: string, path: string, req: Request, deadline: number): Promise<Response> {
    const known = this.schemes.get(host)
    if (known) return this.request(new URL(`${known}//${host}${path}`), req, deadline)
    try {
      const r = await this.request(new URL(`https://${host}${path}`), req, deadline)
      this.schemes.set(host, 'https:')
      return r
    } catch (err) {
      if (!isLoopback(host) || !(err instanceof RegistryError) || err.kind !== 'unreachable') throw err
    }
    // a loopback registry without TLS, as the engine allows
    const r = await this.request(new URL(`http://${host}${path}`), req, deadline)
    this.schemes.set(host, 'http:')
    return r
  }

  /** A request to url, following redirects by the rules above. */
  async request(url: URL, req: Request, deadline: number): Promise<Response> {
    const headers = { ...req.headers }
    let method = req.method
    for (let hops = 0; ; hops++) {
      checkScheme(url)
      const r = await this.once(url, method, headers, req.body, deadline)
      const location = header(r, 'location')
      if (!REDIRECTS.has(r.status) || !location) return r
      discard(r)
      if (hops >= MAX_REDIRECTS) throw new RegistryError('refused', `${url.host} redirected more than ${MAX_REDIRECTS} times`)
      let next: URL
      try {
        next = new URL(location, url)
      } catch {
        throw new RegistryError('refused', `${url.host} redirected to something that is not a URL: ${shown(location)}`)
      }
      if (next.origin !== url.origin) {
        for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k]
      }
      if (r.status === 303) method = method === 'HEAD' ? 'HEAD' : 'GET'
      url = next
    }
  }

  private async once(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    deadline: number
  ): Promise<Response> {
    const left = deadline - Date.now()
    const where = `${url.protocol}//${url.host}`
    if (left <= 0) throw new RegistryError('unreachable', `no time was left for a request to ${where}`, true)
    const client = await this.client(url.protocol)
    const pending = client.request(method, url.href, body ?? null, headers)
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RegistryError('unreachable', `${where} did not answer in time`, true)), left)
    })
    let message: IncomingMessage
    try {
      message = (await Promise.race([pending, limit])).message
    } catch (err) {
      // an answer that comes after all is dropped
      pending.then(
        r => r.message.destroy(),
        () => undefined
      )
      if (err instanceof RegistryError) throw err
      throw new RegistryError('unreachable', `could not reach ${where}: ${shown((err as Error).message)}`, true)
    } finally {
      clearTimeout(timer)
    }
    // the body too ends by the deadline, however the caller reads it
    const late = setTimeout(
      () => message.destroy(new RegistryError('unreachable', `${where} did not send everything in time`, true)),
      Math.max(1, deadline - Date.now())
    )
    message.once('close', () => clearTimeout(late))
    return { status: message.statusCode ?? 0, headers: message.headers, url, body: message }
  }

  /** One toolkit client per scheme: a client keeps the first agent it makes, whichever scheme that was for. */
  private client(protocol: string): Promise<HttpClient> {
    let c = this.clients.get(protocol)
    if (!c) {
      c = import('@actions/http-client').then(
        ({ HttpClient }) =>
          new HttpClient('setup-qemu', [], {
            allowRedirects: false,
            allowRetries: false,
            keepAlive: true,
            socketTimeout: IDLE_MS
          })
      )
      this.clients.set(protocol, c)
    }
    return c
  }

  /** Closes the connections kept open for later requests. */
  close(): void {
    for (const c of this.clients.values()) void c.then(client => client.dispose())
    this.clients.clear()
  }
}

function checkScheme(url: URL): void {
  if (url.protocol === 'https:') return
  if (url.protocol === 'http:' && isLoopback(url.host)) return
  throw new RegistryError(
    'refused',
    `refusing ${url.protocol.replace(':', '')} to ${url.host}: only a loopback registry may be reached without HTTPS`
  )
}

/**
 * The whole body, up to max bytes (a registry's JSON is small; more is refused before it is read). A
 * body cut short by the connection is a transient failure.
 */
export async function readBody(r: Response, max: number, what: string): Promise<Buffer> {
  const length = Number(header(r, 'content-length'))
  if (length > max) {
    r.body.destroy()
    throw new RegistryError('unsupported', `${what} is ${length} bytes, more than the ${max} this client accepts`)
  }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of r.body) {
      size += (chunk as Buffer).length
      if (size > max) throw new RegistryError('unsupported', `${what} is more than the ${max} bytes this client accepts`)
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    r.body.destroy()
    if (err instanceof RegistryError) throw err
    throw new RegistryError('unreachable', `${what} was cut short: ${shown((err as Error).message)}`, true)
  }
  return Buffer.concat(chunks)
}
