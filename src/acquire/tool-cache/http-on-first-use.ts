/**
 * What @actions/tool-cache imports from @actions/http-client, loaded when first used: rollup.config.mjs
 * answers the tool cache's import with this file. The tool cache takes an HTTP client only to download
 * (downloadTool, getManifestFromRepo), which this action never asks it to do, while loading the client
 * (and Node's http with it) was a fifth of a run on a host that is already set up. The client is still
 * the real one, made when the first request needs it.
 */
import type * as Http from '@actions/http-client'

type Client = InstanceType<typeof Http.HttpClient>

export class HttpClient {
  private readonly real: Promise<Client>

  constructor(...args: ConstructorParameters<typeof Http.HttpClient>) {
    this.real = import('@actions/http-client').then(m => new m.HttpClient(...args))
    // a failed load is reported by the first request, not as an unhandled rejection
    this.real.catch(() => undefined)
  }

  async get(...args: Parameters<Client['get']>): ReturnType<Client['get']> {
    return (await this.real).get(...args)
  }

  async getJson<T>(...args: Parameters<Client['getJson']>): ReturnType<Client['getJson']> {
    return (await this.real).getJson<T>(...args)
  }
}
