/**
 * Credentials for a registry from the Docker config ($DOCKER_CONFIG/config.json, or
 * ~/.docker/config.json), looked up as the docker CLI does: the registry's `credHelpers` entry, then
 * `credsStore`, then its `auths` entry (`auth` is base64 `user:password`; `identitytoken` is an OAuth
 * refresh token). A helper is the program `docker-credential-<name>`, run with the argument `get` and
 * the server's name on stdin, never through a shell. When a helper is missing or has nothing, the
 * `auths` entry is used if there is one, else the registry is tried anonymously; a debug line says so.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { runCommand } from '../../exec/command.js'
import { shown } from './errors.js'
import { DOCKER_HUB, DOCKER_HUB_CONFIG_KEY } from './reference.js'

export interface Credentials {
  username?: string
  password?: string
  /** an OAuth refresh token (`identitytoken`, or a helper's `<token>` user), traded for access tokens */
  identityToken?: string
}

interface AuthEntry {
  auth?: unknown
  username?: unknown
  password?: unknown
  identitytoken?: unknown
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, unknown>
  credsStore?: unknown
}

export type Debug = (message: string) => void

/** The config file the docker CLI reads. */
export const configFile = (env: NodeJS.ProcessEnv = process.env): string =>
  path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json')

/** The name a registry's login is kept under: Docker Hub's historical URL, else host[:port]. */
export const serverName = (registry: string): string => (registry === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry)

/** A helper name that is one plain word (`ecr-login`, `desktop.exe`), so it can name nothing but a program on PATH. */
export const validHelperName = (name: unknown): name is string =>
  typeof name === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/.test(name) && name.length <= 64

/** host[:port] of a config key written as a URL (`https://host/v1/`) or as a plain host. */
const keyHost = (key: string): string =>
  key
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase()

/** The entry of a map whose key names registry: exactly, else by its host part. */
function entryFor<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map || typeof map !== 'object') return undefined
  const name = serverName(registry)
  if (Object.hasOwn(map, name)) return map[name]
  const hosts = registry === DOCKER_HUB ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [registry]
  const key = Object.keys(map).find(k => hosts.includes(keyHost(k)))
  return key === undefined ? undefined : map[key]
}

async function readConfig(file: string, debug: Debug): Promise<DockerConfig | undefined> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch {
    return undefined
  }
  try {
    const config = JSON.parse(text) as unknown
    return config && typeof config === 'object' ? (config as DockerConfig) : undefined
  } catch {
    debug(`the Docker config ${file} is not JSON: no credentials are taken from it`)
    return undefined
  }
}

/** What an `auths` entry holds. */
export function fromAuthEntry(entry: AuthEntry | undefined): Credentials | undefined {
  if (!entry || typeof entry !== 'object') return undefined
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) return secret({ identityToken: entry.identitytoken })
  if (typeof entry.auth === 'string' && entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = plain.indexOf(':')
    if (colon > 0) return secret({ username: plain.slice(0, colon), password: plain.slice(colon + 1) })
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username) {
    return secret({ username: entry.username, password: entry.password })
  }
  return undefined
}

/** Masks the secret parts in everything the runner logs from here on. */
function secret(c: Credentials): Credentials {
  for (const s of [c.password, c.identityToken]) if (s && s.length >= 3) core.setSecret(s)
  return c
}

/** What `docker-credential-<name> get` says for registry; undefined when it is missing or has nothing. */
export async function fromHelper(name: string, registry: string, debug: Debug): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`
  let r
  try {
    // found on PATH as this process has it now
    r = await runCommand(program, ['get'], { timeout: 30, input: Buffer.from(serverName(registry)), env: process.env })
  } catch (err) {
    debug(`credential helper ${program} could not be run (${shown((err as Error).message)})`)
    return undefined
  }
  if (r.exitCode !== 0) {
    // its stderr or stdout says why (commonly "credentials not found"); it holds no secret then
    debug(`credential helper ${program} has nothing for ${registry} (exit ${r.exitCode}: ${shown(r.stderr || r.stdout, 120)})`)
    return undefined
  }
  try {
    const out = JSON.parse(r.stdout) as { Username?: unknown; Secret?: unknown }
    if (typeof out.Secret !== 'string' || out.Secret === '') return undefined
    if (out.Username === '<token>') return secret({ identityToken: out.Secret })
    return secret({ username: typeof out.Username === 'string' ? out.Username : '', password: out.Secret })
  } catch {
    debug(`credential helper ${program} did not answer with JSON: no credentials from it`)
    return undefined
  }
}

/** The credentials the Docker config gives for registry (`docker.io`, `host:port`), if any. */
export async function credentialsFor(registry: string, debug: Debug, file = configFile()): Promise<Credentials | undefined> {
  const config = await readConfig(file, debug)
  if (!config) return undefined
  const helper = entryFor(config.credHelpers, registry) ?? config.credsStore
  if (helper !== undefined && helper !== '') {
    if (!validHelperName(helper)) {
      debug(`the Docker config names a credential helper that is not a plain word (${shown(String(helper), 40)}): not run`)
    } else {
      const found = await fromHelper(helper, registry, debug)
      if (found) return found
    }
  }
  const entry = fromAuthEntry(entryFor(config.auths, registry))
  if (!entry) debug(`no credentials for ${registry} in ${file}: trying it anonymously`)
  return entry
}
