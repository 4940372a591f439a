/**
 * Where the engine is, as far as the CLI's settings tell without asking it: an engine at another
 * address (TCP, SSH, another socket, a context) may not see this runner's files or binfmt_misc, so
 * the table is read and written through it instead. The CLI itself honours these settings as they are.
 */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const LOCAL_SOCKETS = ['unix:///var/run/docker.sock', 'unix:///run/docker.sock']

const configDir = (env: NodeJS.ProcessEnv): string => env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker')

/** The context the CLI's config names, if any (DOCKER_CONFIG, else ~/.docker). */
function configuredContext(env: NodeJS.ProcessEnv): string | undefined {
  const dir = configDir(env)
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { currentContext?: unknown }
    return typeof config.currentContext === 'string' ? config.currentContext : undefined
  } catch {
    return undefined
  }
}

/** The engine address a context names, as the CLI stores it (its metadata, under the SHA-256 of its name). */
function contextHost(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const id = createHash('sha256').update(name).digest('hex')
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(configDir(env), 'contexts', 'meta', id, 'meta.json'), 'utf8')) as {
      Endpoints?: { docker?: { Host?: unknown } }
    }
    const host = meta.Endpoints?.docker?.Host
    return typeof host === 'string' ? host : undefined
  } catch {
    return undefined
  }
}

/** An address as the log may show it: no user in it. */
const shown = (address: string): string => address.replace(/\/\/[^/@]*@/, '//')

/** Why the engine may be elsewhere, in words for the log; undefined when it is this machine's usual socket. */
export function engineElsewhere(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = env.DOCKER_HOST
  // DOCKER_HOST wins over any context, as in the CLI
  if (host) return LOCAL_SOCKETS.includes(host) ? undefined : `DOCKER_HOST is ${shown(host)}`
  const context = env.DOCKER_CONTEXT || configuredContext(env)
  if (!context || context === 'default') return undefined
  // a context made for buildx often points at the local socket anyway
  const at = contextHost(env, context)
  return at && LOCAL_SOCKETS.includes(at)
    ? undefined
    : `the docker context ${context} points at ${at ? shown(at) : 'an engine this step cannot tell'}`
}

/**
 * The engine as the CLI is pointed at it: DOCKER_HOST when it is set, else the context in force (the
 * default one when none is named). Post reaches the same engine by it, whatever the job says by then.
 */
export type Endpoint = { host: string } | { context: string }

export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (env.DOCKER_HOST) return { host: env.DOCKER_HOST }
  return { context: env.DOCKER_CONTEXT || configuredContext(env) || 'default' }
}

/** The environment that points the CLI at an endpoint: one of the two variables, never both. */
export function endpointEnv(env: NodeJS.ProcessEnv, endpoint: Endpoint): NodeJS.ProcessEnv {
  const out = { ...env }
  delete out.DOCKER_HOST
  delete out.DOCKER_CONTEXT
  return 'host' in endpoint ? { ...out, DOCKER_HOST: endpoint.host } : { ...out, DOCKER_CONTEXT: endpoint.context }
}

/** An endpoint as main saved it, taken only when it has the shape the CLI accepts. */
export function isEndpoint(x: unknown): x is Endpoint {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false
  const keys = Object.keys(x)
  const e = x as Record<string, unknown>
  if (keys.length !== 1) return false
  if (keys[0] === 'host')
    return typeof e.host === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^\s\u0000-\u001f\u007f]{1,500}$/.test(e.host)
  return keys[0] === 'context' && typeof e.context === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}$/.test(e.context)
}
