/**
 * The HTTP client the bundle gives @actions/tool-cache (rollup.config.mjs): the real client, made when the
 * first request needs it, answering the two calls the tool cache makes of it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { HttpClient } from '../../../src/acquire/tool-cache/http-on-first-use.js'

let server: http.Server
let base = ''
const seen: string[] = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers['user-agent']} ${req.headers.authorization ?? ''}`)
    res.setHeader('content-type', 'application/json')
    res.end(req.url === '/missing' ? (res.writeHead(404), '') : JSON.stringify({ asked: req.url }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => new Promise<void>(resolve => server.close(() => resolve())))

describe("the tool cache's HTTP client", () => {
  it('sends a GET with the user agent and headers it was given, and hands back the response', async () => {
    const response = await new HttpClient('tool-cache-test', [], { allowRetries: false }).get(`${base}/file`, {
      authorization: 'token x'
    })
    expect(response.message.statusCode).toBe(200)
    expect(JSON.parse(await response.readBody())).toEqual({ asked: '/file' })
    expect(seen).toContain('GET /file tool-cache-test token x')
  })

  it('reads JSON, and a 404 as no result', async () => {
    const client = new HttpClient('tool-cache-test')
    await expect(client.getJson<{ asked: string }>(`${base}/tree`)).resolves.toMatchObject({
      statusCode: 200,
      result: { asked: '/tree' }
    })
    await expect(client.getJson(`${base}/missing`)).resolves.toMatchObject({ statusCode: 404, result: null })
  })

  it('reports an unreachable server from the request, not before', async () => {
    const client = new HttpClient('tool-cache-test', [], { allowRetries: false })
    await expect(client.get('http://127.0.0.1:1/')).rejects.toThrow(/ECONNREFUSED/)
  })
})

describe('what the tool cache asks of its HTTP client', () => {
  it('is only get and getJson, the two calls this client forwards', () => {
    const lib = fs.readFileSync('node_modules/@actions/tool-cache/lib/tool-cache.js', 'utf8')
    const clients = [...lib.matchAll(/const (\w+) = new httpm\.HttpClient\(/g)].map(m => m[1])
    expect(clients.length).toBeGreaterThan(0)
    const calls = new Set(clients.flatMap(c => [...lib.matchAll(new RegExp(`\\b${c}\\.(\\w+)\\(`, 'g'))].map(m => m[1])))
    expect([...calls].sort()).toEqual(['get', 'getJson'])
    // and nothing else of the client's: HttpClient is all this file gives
    expect(lib.match(/httpm\.\w+/g)?.filter(m => m !== 'httpm.HttpClient')).toEqual([])
  })
})
