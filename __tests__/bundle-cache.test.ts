/**
 * The bundle's Actions cache client reads and writes archives only through the action's own archive
 * functions (rollup.config.mjs answers the library's import of its tar module with them), never with
 * `tar -P`. The bundle is built from src/ into a directory of its own, and its cache chunk is driven
 * against the cache service stand-in (test/e2e/cache-service.mjs), with a `tar` first on PATH that
 * records any call: a save and a restore round-trip; an entry replaced by a hostile archive (an
 * absolute member, a `../` member) is refused whole and writes nothing; a restore outside a scope of
 * the action extracts nothing at all; and `tar` is never run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { tar } from './acquire/registry/tarball.js'

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-bundle-cache-'))
const BUNDLE = path.join(ROOT, 'dist')
const FAKES = path.join(ROOT, 'bin')
const TAR_CALLS = path.join(ROOT, 'tar-calls')
const DATA = path.join(ROOT, 'service')
const OUTSIDE = path.join(ROOT, 'outside')
const WORKSPACE = path.join(ROOT, 'workspace')
const KEY = `setup-qemu-v4-${process.arch}-image-${'a'.repeat(64)}`
const ONLY = 'setup-qemu-image'

let service: ChildProcess
let url = ''

beforeAll(async () => {
  const built = spawnSync(
    process.execPath,
    ['node_modules/rollup/dist/bin/rollup', '--config', 'rollup.config.mjs', '--silent'],
    { encoding: 'utf8', env: { ...process.env, SETUP_QEMU_BUNDLE_DIR: BUNDLE } }
  )
  if (built.status !== 0) throw new Error(`the bundle did not build: ${built.stderr}`)
  for (const d of [FAKES, OUTSIDE, WORKSPACE, path.join(ROOT, 'temp')]) fs.mkdirSync(d, { recursive: true })
  fs.writeFileSync(path.join(FAKES, 'tar'), `#!/bin/sh\necho "tar $*" >> '${TAR_CALLS}'\nexit 1\n`, { mode: 0o755 })
  service = spawn(process.execPath, ['test/e2e/cache-service.mjs', '0', DATA, path.join(ROOT, 'service.log')], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const port = await new Promise<string>((resolve, reject) => {
    service.stdout?.on('data', (c: Buffer) => {
      const m = /listening (\d+)/.exec(c.toString())
      if (m) resolve(m[1])
    })
    service.on('exit', code => reject(new Error(`the cache service exited (${code})`)))
  })
  url = `http://127.0.0.1:${port}/`
}, 180_000)

afterAll(() => {
  service?.kill()
  fs.rmSync(ROOT, { recursive: true, force: true })
})

/**
 * Runs an ES module script given the bundle's cache library as `lib` and its scope runner as
 * `withinScope`, in a Node whose process.platform says darwin, so that the main chunk the library's chunk
 * imports only says it has nothing to do. Its JSON output.
 */
function withBundledCache(script: string): Record<string, unknown> {
  const preload = path.join(ROOT, 'platform.mjs')
  fs.writeFileSync(preload, "Object.defineProperty(process, 'platform', { value: 'darwin' })\n")
  const head =
    `const archive = await import(${JSON.stringify(path.join(BUNDLE, 'cache-archive.js'))});` +
    "const withinScope = Object.values(archive).find(v => v?.name === 'withinScope');" +
    `const lib = await import(${JSON.stringify(path.join(BUNDLE, 'cache.js'))});` +
    'process.exitCode = 0;' +
    `const scope = dir => ({ dir, only: ${JSON.stringify(ONLY)}, maxBytes: 2 ** 30, abandoned: false, debug: () => {} });`
  const out = execFileSync(process.execPath, ['--import', preload, '--input-type=module', '-e', head + script], {
    encoding: 'utf8',
    cwd: WORKSPACE,
    env: {
      PATH: `${FAKES}:${process.env.PATH}`,
      STATE_isPost: 'true',
      RUNNER_TEMP: path.join(ROOT, 'temp'),
      GITHUB_WORKSPACE: WORKSPACE,
      GITHUB_SERVER_URL: 'https://github.com',
      ACTIONS_CACHE_SERVICE_V2: 'true',
      ACTIONS_RESULTS_URL: url,
      ACTIONS_RUNTIME_TOKEN: 'test-token'
    }
  })
  const last = out.trim().split('\n').at(-1) ?? ''
  return JSON.parse(last) as Record<string, unknown>
}

const tree = (dir: string): string[] => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : [])

describe('the bundle', () => {
  it('answers the cache library with the archive chunk, and no chunk holds the library tar command line', () => {
    const chunks = fs.readdirSync(BUNDLE).filter(f => f.endsWith('.js'))
    expect(fs.readFileSync(path.join(BUNDLE, 'cache.js'), 'utf8')).toMatch(/from"\.\/cache-archive\.js"/)
    for (const chunk of chunks) {
      const text = fs.readFileSync(path.join(BUNDLE, chunk), 'utf8')
      expect({ chunk, tar: /"--files-from"|"-xf"|"--posix"/.test(text) }).toEqual({ chunk, tar: false })
    }
  })

  it('saves and restores an entry through the archive functions, never running tar', () => {
    const from = path.join(ROOT, 'save')
    fs.mkdirSync(path.join(from, ONLY, 'sha256'), { recursive: true })
    fs.writeFileSync(path.join(from, ONLY, 'sha256', 'b'.repeat(64)), 'a blob')
    const into = path.join(ROOT, 'restore-good')
    fs.mkdirSync(into)
    const r = withBundledCache(
      `process.chdir(${JSON.stringify(from)});` +
        `const id = await withinScope(scope(${JSON.stringify(from)}), () => lib.saveCache([${JSON.stringify(ONLY)}], ${JSON.stringify(KEY)}));` +
        `const s = scope(${JSON.stringify(path.join(into, 'entry'))});` +
        `const hit = await withinScope(s, () => lib.restoreCache([${JSON.stringify(ONLY)}], ${JSON.stringify(KEY)}));` +
        'console.log(JSON.stringify({ id, hit, refused: s.refused ?? null }))'
    )
    expect(r).toEqual({ id: expect.any(Number), hit: KEY, refused: null })
    expect(tree(path.join(into, 'entry'))).toEqual([ONLY, `${ONLY}/sha256`, `${ONLY}/sha256/${'b'.repeat(64)}`])
    expect(tree(WORKSPACE)).toEqual([])
    expect(fs.existsSync(TAR_CALLS)).toBe(false)
  })

  it('refuses an entry replaced by a hostile archive whole: nothing is written, in its directory or outside', () => {
    // the stand-in keeps the archive as it was uploaded: replace it as a writer of the entry could
    const blobs = path.join(DATA, 'blobs')
    const hostile = tar([
      { name: `${ONLY}/`, type: '5' },
      { name: `${ONLY}/sha256/${'c'.repeat(64)}`, body: 'looks fine' },
      { name: path.join(OUTSIDE, 'absolute'), body: 'escaped' },
      { name: `${ONLY}/../../../outside/dotdot`, body: 'escaped' }
    ])
    const plain = path.join(ROOT, 'hostile.tar')
    fs.writeFileSync(plain, hostile)
    for (const blob of fs.readdirSync(blobs)) {
      fs.rmSync(path.join(blobs, blob))
      execFileSync('zstd', ['-q', '-o', path.join(blobs, blob), plain])
    }
    const into = path.join(ROOT, 'restore-hostile')
    fs.mkdirSync(into)
    const r = withBundledCache(
      `const s = scope(${JSON.stringify(path.join(into, 'entry'))});` +
        `const hit = await withinScope(s, () => lib.restoreCache([${JSON.stringify(ONLY)}], ${JSON.stringify(KEY)}));` +
        'console.log(JSON.stringify({ hit, refused: s.refused ?? null }))'
    )
    expect(r.refused).toMatch(/has an absolute path/)
    expect(tree(into)).toEqual([])
    expect(tree(OUTSIDE)).toEqual([])
    expect(tree(WORKSPACE)).toEqual([])
    expect(fs.existsSync(TAR_CALLS)).toBe(false)
  })

  it('extracts nothing for a restore outside a scope of the action: not into GITHUB_WORKSPACE, not anywhere', () => {
    const r = withBundledCache(
      `const hit = await lib.restoreCache([${JSON.stringify(ONLY)}], ${JSON.stringify(KEY)});` +
        'console.log(JSON.stringify({ hit: hit ?? null }))'
    )
    expect(r).toEqual({ hit: null })
    expect(tree(WORKSPACE)).toEqual([])
    expect(tree(OUTSIDE)).toEqual([])
    expect(fs.existsSync(TAR_CALLS)).toBe(false)
  })
})
