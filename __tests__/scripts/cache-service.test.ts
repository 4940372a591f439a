/**
 * The cache service stand-in (test/e2e/cache-service.mjs), driven by the real @actions/cache client as
 * a job drives the real service: Twirp JSON for the entries, the Azure SDK for uploads, a plain GET for
 * downloads. What the client prints (workflow commands among it) is captured, so a warning shows.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import * as cache from '@actions/cache'
import { BlockBlobClient } from '@azure/storage-blob'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers.js'

jest.setTimeout(60_000)

const SERVICE = fileURLToPath(new URL('../../test/e2e/cache-service.mjs', import.meta.url))
const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/'
const work = tempDir()
const dataDir = path.join(work.dir, 'data')
const logFile = path.join(work.dir, 'requests.log')
const src = path.join(work.dir, 'src') // what is saved and restored, always under this one path
const ENV = [
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_MODE'
]
const saved = Object.fromEntries([...ENV, 'GITHUB_SERVER_URL', 'RUNNER_TEMP', 'GITHUB_WORKSPACE'].map(k => [k, process.env[k]]))
let service: ChildProcessWithoutNullStreams | undefined
let port = 0

/** Starts the stand-in (on a free port the first time, then on the same one) and waits until it listens. */
function start(): Promise<number> {
  const child = spawn(process.execPath, [SERVICE, String(port), dataDir, logFile])
  service = child
  let out = ''
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /listening (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', code => reject(new Error(`the cache service exited (${code}): ${err}`)))
  })
}

async function stop(): Promise<void> {
  const child = service
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(r => child.once('exit', r))
  child.kill()
  await exited
}

/** Runs fn with process.stdout and process.stderr captured: @actions/core writes its commands to stdout. */
async function captured<T>(fn: () => Promise<T>): Promise<{ result: T; out: string[] }> {
  const chunks: string[] = []
  const streams = [process.stdout, process.stderr]
  const writes = streams.map(s => s.write)
  for (const s of streams)
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
      const done = rest.find(r => typeof r === 'function') as (() => void) | undefined
      done?.()
      return true
    }) as typeof s.write
  try {
    const result = await fn()
    return { result, out: chunks.join('').split(/\r?\n/) }
  } finally {
    streams.forEach((s, i) => (s.write = writes[i]))
  }
}
const problems = (out: string[]): string[] => out.filter(l => l.startsWith('::warning') || l.startsWith('::error'))

/** Every file under dir, by relative path, with its bytes. */
function tree(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {}
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, rel)
    if (fs.statSync(file).isFile()) files[rel] = fs.readFileSync(file)
  }
  return files
}
function fill(files: Record<string, Buffer | string>): void {
  fs.rmSync(src, { recursive: true, force: true })
  for (const [rel, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true })
    fs.writeFileSync(path.join(src, rel), data)
  }
}
function empty(): void {
  fs.rmSync(src, { recursive: true, force: true })
  fs.mkdirSync(src)
}

const logLines = (): string[] => fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
/** The requests logged while fn ran. */
async function requests<T>(fn: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
  const before = fs.existsSync(logFile) ? logLines().length : 0
  const result = await fn()
  return { result, logged: logLines().slice(before) }
}
const blobOf = (key: string): string => {
  const index = JSON.parse(fs.readFileSync(path.join(dataDir, 'index.json'), 'utf8')) as {
    entries: { id: number; key: string }[]
  }
  return path.join(dataDir, 'blobs', String(index.entries.find(e => e.key === key)!.id))
}
const twirp = async (method: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
  const res = await fetch(`http://127.0.0.1:${port}${TWIRP}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer stand-in' },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

beforeAll(async () => {
  port = await start()
  Object.assign(process.env, {
    ACTIONS_CACHE_SERVICE_V2: 'true',
    ACTIONS_RESULTS_URL: `http://127.0.0.1:${port}/`,
    ACTIONS_RUNTIME_TOKEN: 'stand-in-token',
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_TEMP: fs.mkdtempSync(path.join(work.dir, 'runner-temp-')),
    GITHUB_WORKSPACE: fs.mkdtempSync(path.join(work.dir, 'workspace-'))
  })
  delete process.env.ACTIONS_CACHE_URL
  delete process.env.ACTIONS_CACHE_MODE
})

afterAll(async () => {
  try {
    await stop()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    work.remove()
  }
})

const KEY = 'stand-in-linux-x64-1f2e3d'
const FILES = { 'a.txt': 'alpha\n', 'sub/b.bin': randomBytes(200_000), 'sub/deeper/c.json': '{"c":3}\n', empty: '' }

describe('the cache service stand-in, driven by @actions/cache', () => {
  it('saves a directory and restores it byte for byte, under its key', async () => {
    fill(FILES)
    const original = tree(src)
    const save = await requests(() => captured(() => cache.saveCache([src], KEY)))
    expect(save.result.result).toBeGreaterThan(0)
    expect(problems(save.result.out)).toEqual([])
    expect(save.logged).toEqual([
      `POST ${TWIRP}CreateCacheEntry`,
      `PUT /devstoreaccount1/actions-cache/${save.result.result}`,
      `POST ${TWIRP}FinalizeCacheEntryUpload`
    ])

    empty()
    const restore = await requests(() => captured(() => cache.restoreCache([src], KEY)))
    expect(restore.result.result).toBe(KEY)
    expect(restore.result.out).toContain(`Cache hit for: ${KEY}`)
    expect(problems(restore.result.out)).toEqual([])
    expect(tree(src)).toEqual(original)
    expect(restore.logged).toEqual([
      `POST ${TWIRP}GetCacheEntryDownloadURL`,
      `GET /devstoreaccount1/actions-cache/${save.result.result}`
    ])
  })

  it('misses a key nobody saved, finds one by a restore-key prefix, and only for the same paths', async () => {
    const miss = await captured(() => cache.restoreCache([src], 'stand-in-windows-x64-1f2e3d'))
    expect(miss.result).toBeUndefined()
    expect(problems(miss.out)).toEqual([])

    empty()
    const prefix = await captured(() =>
      cache.restoreCache([src], 'stand-in-windows-x64-1f2e3d', ['stand-in-macos-', 'stand-in-linux-'])
    )
    expect(prefix.result).toBe(KEY)
    expect(prefix.out).toContain(`Cache hit for restore-key: ${KEY}`)
    expect(tree(src)).toEqual(Object.fromEntries(Object.entries(FILES).map(([rel, data]) => [rel, Buffer.from(data)])))

    // the version covers the paths: the same key for another directory is another entry
    const other = await captured(() => cache.restoreCache([path.join(work.dir, 'elsewhere')], KEY))
    expect(other.result).toBeUndefined()
  })

  it('two saves of one key at once: one stores it, the other is told another job may be creating it', async () => {
    const key = 'stand-in-race-7a'
    fill({ 'race.txt': 'both jobs made this\n', 'r.bin': randomBytes(50_000) })
    const both = await requests(() => captured(() => Promise.all([cache.saveCache([src], key), cache.saveCache([src], key)])))
    const ids = both.result.result
    expect(ids.filter(id => id > 0)).toHaveLength(1)
    expect(ids.filter(id => id === -1)).toHaveLength(1)
    expect(problems(both.result.out)).toEqual([])
    expect(both.result.out).toContain(
      `Failed to save: Unable to reserve cache with key ${key}, another job may be creating this cache.`
    )
    expect(both.logged.filter(l => l.endsWith('/CreateCacheEntry'))).toHaveLength(2)
    expect(both.logged.filter(l => l.startsWith('PUT '))).toHaveLength(1)
    expect(both.logged.filter(l => l.endsWith('/FinalizeCacheEntryUpload'))).toHaveLength(1)

    // and once it is stored, a later save of the key is refused the same quiet way
    const later = await captured(() => cache.saveCache([src], key))
    expect(later.result).toBe(-1)
    expect(problems(later.out)).toEqual([])
  })

  it('a blob shortened on disk: the restore warns and returns no key, whatever tar left behind', async () => {
    const key = 'stand-in-short-9c'
    fill({ 'big.bin': randomBytes(300_000), 'small.txt': 'small\n' })
    const original = tree(src)
    expect(await captured(() => cache.saveCache([src], key)).then(s => s.result)).toBeGreaterThan(0)
    const blob = blobOf(key)
    fs.truncateSync(blob, Math.floor(fs.statSync(blob).size / 2))

    empty()
    const restore = await captured(() => cache.restoreCache([src], key))
    expect(restore.result).toBeUndefined()
    // the download is complete by its content-length; it is tar (through zstd) that fails to extract
    expect(problems(restore.out)).toEqual([
      expect.stringMatching(
        /^::warning::Failed to restore: ".*tar" failed with error: The process '.*tar' failed with exit code \d+$/
      )
    ])
    // tar is not undone: what it extracted before the end of the data stays, the cut file short
    expect(tree(src)).not.toEqual(original)
  })

  it('holds downloads as long as DATADIR/delay says (a slow service), and no longer once it is gone', async () => {
    fs.writeFileSync(path.join(dataDir, 'delay'), '1500\n')
    try {
      empty()
      const started = Date.now()
      expect((await captured(() => cache.restoreCache([src], KEY))).result).toBe(KEY)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500)
    } finally {
      fs.rmSync(path.join(dataDir, 'delay'))
    }
    empty()
    const started = Date.now()
    expect((await captured(() => cache.restoreCache([src], KEY))).result).toBe(KEY)
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it('keeps its entries across a restart', async () => {
    await stop()
    expect(await start()).toBe(port)
    empty()
    const restore = await captured(() => cache.restoreCache([src], KEY))
    expect(restore.result).toBe(KEY)
    expect(tree(src)['sub/b.bin']).toEqual(FILES['sub/b.bin'])
  })

  it('takes an upload in blocks (Put Block, Put Block List), as the Azure SDK sends archives over 128 MiB', async () => {
    const entry = { key: 'stand-in-blocks', version: 'v-blocks' }
    const created = await twirp('CreateCacheEntry', entry)
    expect(created.status).toBe(200)
    const data = randomBytes(10_000)
    const upload = await requests(() =>
      new BlockBlobClient(created.json.signed_upload_url as string).uploadData(data, {
        blockSize: 1024,
        maxSingleShotSize: 1024,
        concurrency: 4
      })
    )
    expect(upload.logged.filter(l => l.endsWith('?comp=block'))).toHaveLength(10)
    expect(upload.logged.at(-1)).toMatch(/^PUT \/devstoreaccount1\/actions-cache\/\d+\?comp=blocklist$/)

    // not visible before it is finalized, and finalized only with the size uploaded
    expect((await twirp('GetCacheEntryDownloadURL', entry)).json.ok).toBe(false)
    expect((await twirp('FinalizeCacheEntryUpload', { ...entry, size_bytes: '9999' })).status).toBe(400)
    expect((await twirp('FinalizeCacheEntryUpload', { ...entry, size_bytes: String(data.length) })).json.ok).toBe(true)
    const found = await twirp('GetCacheEntryDownloadURL', entry)
    expect(found.json).toMatchObject({ ok: true, matched_key: entry.key })
    const url = found.json.signed_download_url as string
    expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(data)
    const part = await fetch(url, { headers: { range: 'bytes=100-199' } })
    expect(part.status).toBe(206)
    expect(Buffer.from(await part.arrayBuffer())).toEqual(data.subarray(100, 200))
  })

  it('answers what it does not know with a Twirp error, and carries on', async () => {
    expect(await twirp('DeleteCacheEntry', { key: 'k', version: 'v' })).toMatchObject({
      status: 404,
      json: { code: 'bad_route' }
    })
    expect(await twirp('CreateCacheEntry', '{not json')).toMatchObject({ status: 400, json: { code: 'malformed' } })
    expect(await twirp('CreateCacheEntry', { key: KEY })).toMatchObject({ status: 400, json: { code: 'invalid_argument' } })
    const conflict = await twirp('CreateCacheEntry', { key: 'stand-in-blocks', version: 'v-blocks' })
    expect(conflict).toEqual({
      status: 409,
      json: { code: 'already_exists', msg: 'cache entry with the same key, version, and scope already exists' }
    })
    expect((await fetch(`http://127.0.0.1:${port}/nowhere`)).status).toBe(404)
    expect(service?.exitCode).toBeNull()
    expect(logLines()).toContain('GET /nowhere')
  })
})
