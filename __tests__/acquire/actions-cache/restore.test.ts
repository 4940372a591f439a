/**
 * Main's side of the Actions cache against a stand-in of @actions/cache that behaves as the library
 * does where it matters here: it looks the key up, "downloads" an archive, and hands it to the archive
 * functions it imports (the bundle answers that import with archive.ts, so this stand-in calls them).
 * A hit is extracted into this run's scratch directory only; a miss is noted for post; a hostile entry is
 * refused with a warning naming the key; and a restore that outlives its limit is abandoned: the run
 * goes on, and the late extraction writes nothing, in the workspace or anywhere, then or later.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { gzipSync } from 'node:zlib'
import { tar, type Member } from '../registry/tarball.js'
import { captureOutput } from '../../helpers/output.js'
import { tempDirs } from '../../helpers/tmp.js'

interface Behaviour {
  /** the archive to hand over, or none (a miss) */
  archive?: Buffer
  /** resolves when the "download" is done */
  wait?: Promise<void>
}
let behaviour: Behaviour = {}
const calls: { paths: string[]; key: string }[] = []
let extracted: Promise<void> = Promise.resolve()

jest.unstable_mockModule('@actions/cache', () => ({
  restoreCache: async (paths: string[], key: string): Promise<string | undefined> => {
    calls.push({ paths, key })
    if (!behaviour.archive) return undefined
    const { extractTar } = await import('../../../src/acquire/actions-cache/archive.js')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sq-library-'))
    const file = path.join(dir, 'cache.tgz')
    fs.writeFileSync(file, behaviour.archive)
    await behaviour.wait
    extracted = extractTar(file, 'gzip')
    await extracted
    return key
  },
  saveCache: async () => 0
}))

const { ActionsCache, restoreLimit } = await import('../../../src/acquire/actions-cache/restore.js')
const { entryKey } = await import('../../../src/acquire/actions-cache/keys.js')

const PIN = 'c'.repeat(64)
const tmp = tempDirs('sq-restore')

const output = captureOutput()
let workDir: string
let workspace: string
let stateFile: string
const saved = { ...process.env }
beforeEach(() => {
  calls.length = 0
  behaviour = {}
  workDir = tmp('work')
  workspace = tmp('workspace')
  stateFile = path.join(tmp('state'), 'state')
  fs.writeFileSync(stateFile, '')
  process.env.GITHUB_WORKSPACE = workspace
  process.env.GITHUB_STATE = stateFile
  process.env.RUNNER_TEMP = tmp('runner-temp')
})
afterEach(() => {
  jest.restoreAllMocks()
  process.env = { ...saved }
})

const entry = (members: Member[]): Buffer => gzipSync(tar(members))
const GOOD = entry([
  { name: 'setup-qemu-image/', type: '5' },
  { name: 'setup-qemu-image/sha256/', type: '5' },
  { name: `setup-qemu-image/sha256/${PIN}`, body: 'an index' }
])
const tree = (dir: string): string[] => (fs.readdirSync(dir, { recursive: true }) as string[]).sort()

describe('a restore', () => {
  it('asks for the entry of what the pin names, and extracts a hit into the scratch directory only', async () => {
    behaviour = { archive: GOOD }
    const cwd = process.cwd()
    const restored = await new ActionsCache(workDir, 5, 60).restore('image', PIN)
    expect(calls).toEqual([{ paths: ['setup-qemu-image'], key: entryKey('image', PIN) }])
    const dir = restored?.dir
    expect(dir && path.relative(workDir, dir).split(path.sep)).toEqual([
      expect.stringMatching(/^actions-cache-/),
      'entry',
      'setup-qemu-image'
    ])
    expect(tree(dir as string)).toEqual(['sha256', `sha256/${PIN}`])
    // each file with the SHA-256 of what was written, which is what is on disk
    const onDisk = createHash('sha256')
      .update(fs.readFileSync(path.join(dir as string, 'sha256', PIN)))
      .digest('hex')
    expect([...(restored?.sha256 ?? [])]).toEqual([[`sha256/${PIN}`, onDisk]])
    // nothing moved: not the working directory, not the workspace
    expect(process.cwd()).toBe(cwd)
    expect(process.env.GITHUB_WORKSPACE).toBe(workspace)
    expect(tree(workspace)).toEqual([])
  })

  it('is made once, however often it is asked for', async () => {
    behaviour = { archive: GOOD }
    const cache = new ActionsCache(workDir, 5, 60)
    const [a, b] = await Promise.all([cache.restore('image', PIN), cache.restore('image', PIN)])
    expect(a).toBe(b)
    expect(calls).toHaveLength(1)
  })

  it('that misses says post saves one, and post is told where to find what this run fetched', async () => {
    const cache = new ActionsCache(workDir, 5, 60)
    expect(await cache.restore('tarball', PIN)).toBeUndefined()
    expect(output.text).toContain(`the Actions cache has no entry ${entryKey('tarball', PIN)} yet: the post step saves one`)
    const keep = await cache.keepDir()
    expect(path.dirname(keep as string)).toBe(process.env.RUNNER_TEMP)
    cache.keep(keep as string)
    const state = fs.readFileSync(stateFile, 'utf8')
    expect(state).toContain(JSON.stringify({ key: entryKey('tarball', PIN), holds: 'tarball', pin: PIN, dir: keep, timeout: 60 }))
  })

  it('that hits keeps nothing for post', async () => {
    behaviour = { archive: GOOD }
    const cache = new ActionsCache(workDir, 5, 60)
    await cache.restore('image', PIN)
    expect(await cache.keepDir()).toBeUndefined()
    cache.keep('/anything')
    expect(fs.readFileSync(stateFile, 'utf8')).toBe('')
  })

  it('of a hostile entry extracts nothing, warns naming the key and what to do, and keeps nothing for post', async () => {
    behaviour = {
      archive: entry([
        { name: 'setup-qemu-image/sha256/', type: '5' },
        { name: path.join(workspace, 'absolute'), body: 'x' },
        { name: 'setup-qemu-image/../../../escaped', body: 'x' }
      ])
    }
    const cache = new ActionsCache(workDir, 5, 60)
    expect(await cache.restore('image', PIN)).toBeUndefined()
    const key = entryKey('image', PIN)
    expect(output.text).toContain(`::warning::the Actions cache entry ${key} is ignored: the member`)
    expect(output.text).toContain(
      `has an absolute path. Nothing from it was used; fetching as usual. Delete it (gh cache delete ${key})`
    )
    expect(tree(workspace)).toEqual([])
    expect(tree(workDir).filter(p => p.includes('escaped') || p.includes('absolute'))).toEqual([])
    expect(await cache.keepDir()).toBeUndefined()
  })

  it('past its limit is abandoned: the run goes on, and the late answer writes nothing anywhere', async () => {
    let answer: () => void = () => undefined
    behaviour = { archive: GOOD, wait: new Promise<void>(resolve => (answer = resolve)) }
    const cache = new ActionsCache(workDir, 1, 60)
    const started = Date.now()
    expect(await cache.restore('image', PIN)).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(3000)
    expect(output.text).toContain('the Actions cache could not be read (it did not answer within 1s): fetching as usual')
    // the library answers late and extracts: nothing appears, in the scratch directory or the workspace
    answer()
    await new Promise(r => setTimeout(r, 50))
    await extracted
    expect(tree(workDir)).toEqual([])
    expect(tree(workspace)).toEqual([])
    expect(process.env.GITHUB_WORKSPACE).toBe(workspace)
    expect(await cache.keepDir()).toBeUndefined()
  })
})

describe('the limit', () => {
  it('is a minute, or half of timeout when that is shorter', () => {
    expect(restoreLimit(600)).toBe(60)
    expect(restoreLimit(120)).toBe(60)
    expect(restoreLimit(30)).toBe(15)
    expect(restoreLimit(1)).toBe(1)
  })
})
