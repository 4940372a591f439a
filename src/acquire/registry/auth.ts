/**
 * Answering a registry's 401: a `Bearer` challenge is traded at its realm for a token (anonymously, with
 * user and password as Basic auth, or with an identity token as an OAuth refresh token); a `Basic`
 * challenge is answered with user and password. No credential or token is ever put into a message.
 */
import * as core from '@actions/core'
import { RegistryError, shown, statusError } from './errors.js'
import { discard, header, readBody, type Response, type Transport } from './http.js'
import { credentialsFor, type Credentials, type Debug } from './credentials.js'

export interface Challenge {
  /** lower case: `bearer`, `basic` */
  scheme: string
  params: Record<string, string>
}

/** The challenges of a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"`, possibly several. */
export function parseChallenges(value: string): Challenge[] {
  const out: Challenge[] = []
  // a scheme, then name=value pairs (quoted with \-escapes, or a bare token), separated by commas
  const token = /\s*(?:([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))|([A-Za-z][A-Za-z0-9_-]*))\s*,?/y
  let m: RegExpExecArray | null
  while ((m = token.exec(value)) !== null && m[0] !== '') {
    if (m[4] !== undefined) out.push({ scheme: m[4].toLowerCase(), params: {} })
    else if (out.length > 0) out[out.length - 1].params[m[1].toLowerCase()] = m[2]?.replace(/\\(.)/g, '$1') ?? m[3] ?? ''
  }
  return out
}

export interface Target {
  /** the registry's name for credentials (`docker.io`, `host:port`) */
  registry: string
  /** host[:port] its API is served on */
  host: string
  repository: string
}

const MAX_TOKEN_RESPONSE = 64 * 1024

export class Authorizer {
  /** the Authorization value per host and repository, once one was earned */
  private readonly headers = new Map<string, string>()
  private readonly credentials = new Map<string, Promise<Credentials | undefined>>()

  constructor(
    private readonly transport: Transport,
    private readonly debug: Debug,
    private readonly lookup: (registry: string, debug: Debug) => Promise<Credentials | undefined> = credentialsFor
  ) {}

  current(t: Target): string | undefined {
    return this.headers.get(`${t.host} ${t.repository}`)
  }

  /** Earns an Authorization value from the 401 r; false when there is nothing to answer it with. */
  async answer(r: Response, t: Target, deadline: number): Promise<boolean> {
    const challenges = parseChallenges(header(r, 'www-authenticate') ?? '')
    discard(r)
    const bearer = challenges.find(c => c.scheme === 'bearer' && c.params.realm)
    const basic = challenges.find(c => c.scheme === 'basic')
    const creds = await this.credentialsOf(t.registry)
    let value: string | undefined
    if (bearer) {
      value = `Bearer ${await this.token(bearer, t, creds, deadline)}`
    } else if (basic && creds?.username !== undefined && creds.password !== undefined) {
      value = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
      core.setSecret(value.slice(6))
    } else {
      this.debug(
        `${t.host} asks for ${basic ? 'Basic auth' : 'an authentication this client does not speak'}, and no credentials answer it`
      )
      return false
    }
    this.headers.set(`${t.host} ${t.repository}`, value)
    return true
  }

  private credentialsOf(registry: string): Promise<Credentials | undefined> {
    let c = this.credentials.get(registry)
    if (!c) {
      c = this.lookup(registry, this.debug)
      this.credentials.set(registry, c)
    }
    return c
  }

  /** A token from the challenge's realm for pulling t.repository. */
  private async token(c: Challenge, t: Target, creds: Credentials | undefined, deadline: number): Promise<string> {
    let realm: URL
    try {
      realm = new URL(c.params.realm)
    } catch {
      throw new RegistryError('refused', `${t.host} names a token service that is not a URL: ${shown(c.params.realm)}`)
    }
    const scope = c.params.scope || `repository:${t.repository}:pull`
    const what = `getting a token for ${t.registry}/${t.repository} from ${realm.host}`
    let r: Response
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'setup-qemu',
        scope
      })
      if (c.params.service) form.set('service', c.params.service)
      const headers = { 'content-type': 'application/x-www-form-urlencoded' }
      r = await this.transport.request(realm, { method: 'POST', headers, body: form.toString() }, deadline)
    } else {
      if (c.params.service) realm.searchParams.set('service', c.params.service)
      realm.searchParams.set('scope', scope)
      const headers: Record<string, string> = {}
      if (creds?.username !== undefined && creds.password !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
      }
      r = await this.transport.request(realm, { method: 'GET', headers }, deadline)
    }
    const body = await readBody(r, MAX_TOKEN_RESPONSE, `the answer of ${realm.host}'s token service`)
    if (r.status !== 200) throw statusError(r.status, what, body)
    let answer: { token?: unknown; access_token?: unknown }
    try {
      answer = JSON.parse(body.toString('utf8')) as typeof answer
    } catch {
      throw new RegistryError('refused', `${what}: the answer is not JSON`)
    }
    const token = typeof answer.token === 'string' && answer.token ? answer.token : answer.access_token
    // printable ASCII only: it goes into a header
    if (typeof token !== 'string' || !/^[\x21-\x7e]{1,16384}$/.test(token)) {
      throw new RegistryError('refused', `${what}: the answer holds no usable token`)
    }
    core.setSecret(token)
    return token
  }
}
