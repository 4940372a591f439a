/**
 * Where the engine is, as far as the CLI's settings tell without asking it: an engine at another
 * address (TCP, SSH, another socket, a context) may not see this runner's files or binfmt_misc, so
 * the table is read and written through it instead. The CLI itself honours these settings as they are.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const LOCAL_SOCKETS = ['unix:///var/run/docker.sock', 'unix:///run/docker.sock']

/** The context the CLI's config names, if any (DOCKER_CONFIG, else ~/.docker). */
function configuredContext(env: NodeJS.ProcessEnv): string | undefined {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker')
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { currentContext?: unknown }
    return typeof config.currentContext === 'string' ? config.currentContext : undefined
  } catch {
    return undefined
  }
}

/** Why the engine may be elsewhere, in words for the log; undefined when it is this machine's usual socket. */
export function engineElsewhere(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = env.DOCKER_HOST
  // DOCKER_HOST wins over any context, as in the CLI
  if (host) return LOCAL_SOCKETS.includes(host) ? undefined : `DOCKER_HOST is ${host.replace(/\/\/[^/@]*@/, '//')}`
  const context = env.DOCKER_CONTEXT || configuredContext(env)
  return context && context !== 'default' ? `the docker context is ${context}` : undefined
}
