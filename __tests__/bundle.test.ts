/**
 * The bundle as Node runs it. rollup.config.mjs answers the HTTP client's import of undici with
 * scripts/undici-on-first-use.cjs, its imports of Node's http with scripts/node-http-commonjs.mjs, and
 * the tool cache's import of the client with src/acquire/tool-cache/http-on-first-use.ts: what the client
 * takes from them must still work in dist/, and what they leave unloaded must stay so. The entry point
 * reports, as the runner reads errors, what the toolkit cannot: a bundle that did not load, a step that
 * threw as it started.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { actionNode } from '../scripts/runner.mjs'

const chunk = pathToFileURL(path.resolve('dist/http-client.js')).href

/**
 * Runs an ES module script that gets the bundled HttpClient class as `HttpClient`; its stdout. On the Node
 * the runner runs the action with, as what Node loads with it differs from one major to the next.
 */
function withBundledClient(script: string, env: NodeJS.ProcessEnv = {}): string {
  const head = `const m = await import(${JSON.stringify(chunk)}); const HttpClient = Object.values(m).find(v => v?.name === 'HttpClient');`
  return execFileSync(actionNode().path, ['--input-type=module', '-e', head + script], {
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

describe('what the bundle loads, and when', () => {
  it("takes Node's http without Node evaluating undici for it", () => {
    const loaded = withBundledClient("console.log(JSON.stringify(process.moduleLoadList.filter(m => m.includes('undici'))))")
    expect(JSON.parse(loaded)).toEqual([])
  })

  it("makes requests through Node's http", () => {
    const script = `
      const http = await import('node:http')
      const server = http.createServer((req, res) => res.end('answered ' + req.url))
      await new Promise(r => server.listen(0, '127.0.0.1', r))
      const res = await new HttpClient('test').get('http://127.0.0.1:' + server.address().port + '/probe')
      console.log(res.message.statusCode, await res.readBody())
      server.close()`
    expect(withBundledClient(script)).toBe('200 answered /probe')
  })

  it("loads the HTTP client from the tool cache's chunk only when a download asks for it", () => {
    const toolCache = fs.readFileSync('dist/tool-cache.js', 'utf8')
    expect(toolCache).not.toMatch(/from\s*"\.\/http-client\.js"/)
    expect(toolCache).toMatch(/import\("\.\/http-client\.js"\)/)
  })
})

describe('the entry point', () => {
  /** dist/index.js beside a step.js of the test's (none: missing), run as post so nothing starts early. */
  function entryWith(step?: string): { status: number | null; stdout: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sq-entry-'))
    try {
      fs.copyFileSync('dist/index.js', path.join(dir, 'index.js'))
      fs.copyFileSync('dist/package.json', path.join(dir, 'package.json'))
      if (step !== undefined) fs.writeFileSync(path.join(dir, 'step.js'), step)
      const r = spawnSync(actionNode().path, [path.join(dir, 'index.js')], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, STATE_isPost: 'true' }
      })
      return { status: r.status, stdout: r.stdout }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }

  it('reports a bundle that cannot be loaded as an error the runner reads, and fails', () => {
    const r = entryWith()
    expect(r.stdout).toMatch(/^::error::this action's bundle could not be loaded \(.*step\.js.*\): use a released version\n$/)
    expect(r.status).toBe(1)
  })

  it('reports a step that throws before the toolkit can, escaped as the runner reads it, and fails', () => {
    // the chunk the entry point loads, as it reads it: rollup may hand it the module under a name of its own
    const named = /import\("\.\/step\.js"\)\.then\(function\((\w+)\)\{return \1\.(\w+)\}\)/.exec(
      fs.readFileSync('dist/index.js', 'utf8')
    )?.[2]
    const step = "step() { throw new Error('100% broken\\nthere') }"
    const r = entryWith(named ? `export const ${named} = { ${step} }\n` : `export function ${step}\n`)
    expect(r.stdout).toBe('::error::this action failed as it started (100%25 broken\\x0athere)\n')
    expect(r.status).toBe(1)
  })
})
