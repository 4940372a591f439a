/**
 * The bundle as Node runs it. rollup.config.mjs answers the HTTP client's import of undici with
 * scripts/undici-on-first-use.cjs: what the client takes from undici must still work in dist/.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'

const chunk = pathToFileURL(path.resolve('dist/http-client.js')).href

/** Runs an ES module script that gets the bundled HttpClient class as `HttpClient`; its stdout. */
function withBundledClient(script: string, env: NodeJS.ProcessEnv = {}): string {
  const head = `const m = await import(${JSON.stringify(chunk)}); const HttpClient = Object.values(m).find(v => v?.name === 'HttpClient');`
  return execFileSync(process.execPath, ['--input-type=module', '-e', head + script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env }
  }).trim()
}

describe('the bundled HTTP client', () => {
  it('gives a proxy dispatcher from undici, loaded on first use', () => {
    const out = withBundledClient(
      "const d = new HttpClient('test').getAgentDispatcher('https://example.com/'); console.log(d.constructor.name)",
      { https_proxy: 'http://127.0.0.1:3128' }
    )
    expect(out).toBe('ProxyAgent')
  })

  it('has no proxy dispatcher to give without a proxy', () => {
    expect(withBundledClient("console.log(String(new HttpClient('test').getAgentDispatcher('https://example.com/')))")).toBe(
      'undefined'
    )
  })
})
