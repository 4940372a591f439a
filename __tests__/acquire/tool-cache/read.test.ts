/**
 * The tool cache under concurrency: readers register from a private snapshot, writers never change a
 * published entry in place, and what is registered is checked by content. No Docker, no root.
 */
import { describe, expect, it } from '@jest/globals'
import * as tc from '@actions/tool-cache'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { findCached, useCached } from '../../../src/acquire/tool-cache/read.js'
import { cacheVersion } from '../../../src/acquire/tool-cache/entry.js'
import { storeInCache } from '../../../src/acquire/tool-cache/publish.js'
import { ImageSource } from '../../../src/acquire/image.js'
import type { Emulators } from '../../../src/acquire/source.js'
import { Docker } from '../../../src/engine/docker.js'
import { PLATFORMS, byArch, emulatorName, type Platform } from '../../../src/platform/platforms.js'
import { fromNodeArch } from '../../../src/platform/arch.js'
import { buildProbe } from '../../../src/platform/elf.js'
import { captureOutput } from '../../helpers/output.js'
import { freshToolCache, tempDirs } from '../../helpers/tmp.js'
import { settled } from '../../helpers/settled.js'

const host = fromNodeArch(process.arch) as Platform
const foreign = PLATFORMS.find(p => p.family !== host.family) as Platform
const tmp = tempDirs()
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex')
const META = 'setup-qemu.json'

/** An emulator for this host: a real ELF of its platform, padded so that copies take a while. */
const hostElf = (seed: number, size = 64 * 1024): Buffer => Buffer.concat([buildProbe(host), Buffer.alloc(size, seed)])

/** A directory of emulators as a source leaves it, for these platforms. */
function emulators(key: string, arches: string[], opts: { seed?: number; size?: number; from?: string } = {}): Emulators {
  const dir = tmp('emus')
  for (const a of arches)
    fs.writeFileSync(path.join(dir, emulatorName(byArch(a))), hostElf(opts.seed ?? 1, opts.size), { mode: 0o755 })
  return { dir, archs: new Set(arches), key, origin: 'image', from: opts.from ?? 'registry.example/binfmt:x' }
}

const entryDir = (key: string): string =>
  path.join(process.env.RUNNER_TOOL_CACHE as string, 'setup-qemu', cacheVersion(key), os.arch())

/** Everything the toolkit writes to stdout (log lines and workflow commands) during a test. */
const output = captureOutput()

/** What fn returns, and what it logged. */
async function logOf<T>(fn: () => Promise<T>): Promise<{ result: T; log: string }> {
  output.text = ''
  const result = await fn()
  return { result, log: output.text }
}

/** A separate process that runs `code` in a loop until stop exists, then prints its JSON result. */
function watch(code: string, env: Record<string, string>): { stop: () => Promise<Record<string, number>> } {
  const stopFile = path.join(tmp('stop'), 'stop')
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('fs'); const r = { n: 0, bad: 0 }; while (!fs.existsSync(process.env.STOP)) { r.n++; ${code} } console.log(JSON.stringify(r))`
    ],
    {
      env: { ...process.env, ...env, STOP: stopFile }
    }
  )
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  const closed = new Promise(r => child.on('close', r))
  return {
    stop: async () => {
      fs.writeFileSync(stopFile, '')
      await closed
      return JSON.parse(out) as Record<string, number>
    }
  }
}

/** Another party makes a published entry invalid: its metadata replaced by one for another key. */
function breakMeta(key: string): void {
  const file = path.join(entryDir(key), META)
  const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as { key: string }
  meta.key = 'not-this-one'
  fs.writeFileSync(`${file}.x`, JSON.stringify(meta))
  fs.renameSync(`${file}.x`, file)
}

const noDocker = new Docker(5, '/nonexistent/docker')

const dirs = freshToolCache(tmp)

describe('readers', () => {
  it('register from a snapshot in their own scratch dir, which another job storing the same key never touches', async () => {
    const key = 'c'.repeat(64)
    await storeInCache(emulators(key, ['arm64', 's390x'], { size: 2 << 20 }), true)
    const source = new ImageSource(`registry.example/binfmt:x@sha256:${key}`, noDocker, {
      useCache: true,
      workDir: dirs.workDir,
      timeout: 5
    })
    const e = await settled(source.acquire([byArch('arm64')]))
    expect(e.origin).toBe('tool cache')
    const file = path.join(e.dir, 'qemu-aarch64')
    const before = sha(file)

    const watcher = watch(`if (!fs.existsSync(process.env.FILE)) r.bad++`, { FILE: file })
    for (let i = 0; i < 10; i++) {
      // another job: a valid entry is left alone; an invalid one is replaced
      if (i % 2) breakMeta(key)
      await storeInCache(emulators(key, ['arm64', 's390x'], { size: 2 << 20 }), true)
    }
    const r = await watcher.stop()
    expect(r.n).toBeGreaterThan(0)
    expect(r.bad).toBe(0)
    expect(sha(file)).toBe(before)
    expect(path.relative(dirs.workDir, e.dir).startsWith('..')).toBe(false)
  })

  it('the cheap look-up (for planning) may name the shared entry; only the snapshot is hashed, and only what is needed', async () => {
    const key = 'd'.repeat(64)
    await storeInCache(emulators(key, ['arm64', 's390x', 'riscv64']), true)
    const cached = await findCached(key)
    expect(cached).toMatchObject({ dir: entryDir(key), complete: true, key })
    expect([...(cached?.archs ?? [])].sort()).toEqual(['arm64', 'riscv64', 's390x'])

    // an emulator this run does not need is not looked at
    const other = path.join(entryDir(key), 'qemu-s390x')
    fs.writeFileSync(`${other}.x`, hostElf(9), { mode: 0o755 })
    fs.renameSync(`${other}.x`, other)
    const { result: e, log } = await logOf(() => useCached(cached!, [byArch('arm64')], dirs.workDir))
    expect(log).not.toContain('::warning::')
    expect(e?.archs).toEqual(new Set(['arm64']))
    expect(fs.readdirSync(e!.dir)).toEqual(['qemu-aarch64'])
  })

  it('take a copy of the content, which a write in place to the shared entry after the check does not reach', async () => {
    const key = 'e'.repeat(64)
    await storeInCache(emulators(key, ['arm64']), true)
    const shared = path.join(entryDir(key), 'qemu-aarch64')
    const e = await useCached((await findCached(key))!, 'all', dirs.workDir)
    const file = path.join(e!.dir, 'qemu-aarch64')
    const checked = sha(file)
    expect(checked).toBe(sha(shared))
    // someone who can write the tool cache rewrites the file in place: same inode, other bytes
    const ino = fs.statSync(shared).ino
    fs.writeFileSync(shared, hostElf(8))
    expect(fs.statSync(shared).ino).toBe(ino)
    expect(sha(shared)).not.toBe(checked)
    expect(sha(file)).toBe(checked)
    expect(fs.statSync(file).ino).not.toBe(ino)
    expect(fs.statSync(file).mode & 0o111).not.toBe(0)
  })

  const otherDevice = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').dev !== fs.statSync(os.tmpdir()).dev
  ;(otherDevice ? it : it.skip)('copies the snapshot when the scratch dir is on another filesystem', async () => {
    const key = 'f'.repeat(64)
    await storeInCache(emulators(key, ['arm64']), true)
    const elsewhere = fs.mkdtempSync('/dev/shm/sq-work-')
    try {
      const e = await useCached((await findCached(key))!, 'all', elsewhere)
      const file = path.join(e!.dir, 'qemu-aarch64')
      expect(sha(file)).toBe(sha(path.join(entryDir(key), 'qemu-aarch64')))
      expect(fs.statSync(file).mode & 0o111).not.toBe(0)
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true })
    }
  })
})

describe('integrity by content', () => {
  it('an emulator that does not match its recorded SHA-256 (same size) makes the run ignore the entry, with a warning', async () => {
    const key = 'a1'.repeat(32)
    await storeInCache(emulators(key, ['arm64', 's390x']), true)
    const file = path.join(entryDir(key), 'qemu-aarch64')
    const size = fs.statSync(file).size
    fs.writeFileSync(`${file}.x`, hostElf(7), { mode: 0o755 }) // same size, other bytes
    fs.renameSync(`${file}.x`, file)
    expect(fs.statSync(file).size).toBe(size)

    const { result: e, log } = await logOf(async () => useCached((await findCached(key))!, [byArch('arm64')], dirs.workDir))
    expect(e).toBeUndefined()
    expect(log).toMatch(
      /::warning::the tool cache entry .* is ignored: qemu-aarch64 does not match the SHA-256 recorded when it was stored/
    )
    expect(fs.readdirSync(dirs.workDir)).toEqual([]) // no snapshot left behind
  })

  it("stores each file's SHA-256 at fill time", async () => {
    const key = 'a2'.repeat(32)
    await storeInCache(emulators(key, ['arm64', 's390x']), true)
    const meta = JSON.parse(fs.readFileSync(path.join(entryDir(key), META), 'utf8')) as { sha256: Record<string, string> }
    expect(meta.sha256).toEqual({
      'qemu-aarch64': sha(path.join(entryDir(key), 'qemu-aarch64')),
      'qemu-s390x': sha(path.join(entryDir(key), 'qemu-s390x'))
    })
  })

  it('an entry holding an ELF for another machine (checksums and all) is not registered from', async () => {
    const key = 'a3'.repeat(32)
    await storeInCache(emulators(key, ['arm64']), true)
    const file = path.join(entryDir(key), 'qemu-aarch64')
    fs.writeFileSync(
      `${file}.x`,
      Buffer.concat([buildProbe(foreign), Buffer.alloc(fs.statSync(file).size - buildProbe(foreign).length)]),
      { mode: 0o755 }
    )
    fs.renameSync(`${file}.x`, file)
    const metaFile = path.join(entryDir(key), META)
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { sha256: Record<string, string> }
    meta.sha256['qemu-aarch64'] = sha(file)
    fs.writeFileSync(metaFile, JSON.stringify(meta))

    const { result: e, log } = await logOf(async () => useCached((await findCached(key))!, 'all', dirs.workDir))
    expect(e).toBeUndefined()
    expect(log).toContain(`qemu-aarch64 is an ELF for ${foreign.cpu}, not for this ${host.cpu} host`)
  })

  it('a file that is not an emulator for this host is never cached', async () => {
    const key = 'a4'.repeat(32)
    const e = emulators(key, ['arm64'])
    fs.writeFileSync(path.join(e.dir, 'qemu-aarch64'), '#!/bin/sh\nexit 42\n')
    const { log } = await logOf(() => storeInCache(e, true))
    expect(log).toMatch(/::warning::could not keep the emulators in the tool cache \(qemu-aarch64 is not an ELF file\)/)
    expect(tc.find('setup-qemu', cacheVersion(key), os.arch())).toBe('')
  })
})

describe('writers', () => {
  it('keep the layout tc.find understands, with the marker', async () => {
    const key = 'b1'.repeat(32)
    await storeInCache(emulators(key, ['arm64']), true)
    expect(tc.find('setup-qemu', cacheVersion(key), os.arch())).toBe(entryDir(key))
    expect(fs.existsSync(`${entryDir(key)}.complete`)).toBe(true)
    // nothing left beside it
    expect(fs.readdirSync(path.dirname(entryDir(key))).sort()).toEqual([os.arch(), `${os.arch()}.complete`])
  })

  it('never delete or rewrite a complete entry that passes its checks', async () => {
    const key = 'b2'.repeat(32)
    await storeInCache(emulators(key, ['arm64', 's390x']), true)
    const ino = (f: string): number => fs.statSync(path.join(entryDir(key), f)).ino
    const before = [ino('.'), ino('qemu-aarch64'), ino(META)]
    await storeInCache(emulators(key, ['arm64', 's390x', 'riscv64'], { seed: 2 }), true)
    await storeInCache(emulators(key, ['arm64'], { seed: 3 }), false)
    expect([ino('.'), ino('qemu-aarch64'), ino(META)]).toEqual(before)
    expect((await findCached(key))?.archs).toEqual(new Set(['arm64', 's390x']))
  })

  it('never show a half-written entry: it is written aside and renamed into place', async () => {
    const key = 'b3'.repeat(32)
    const names = ['qemu-aarch64', 'qemu-s390x', 'qemu-riscv64', 'qemu-ppc64le', META]
    // counts only what it saw while one and the same directory stood at the final path
    const watcher = watch(
      `let a, b; try { a = fs.statSync(process.env.DIR).ino } catch { continue }
       const missing = process.env.NAMES.split(',').some(n => !fs.existsSync(process.env.DIR + '/' + n))
       try { b = fs.statSync(process.env.DIR).ino } catch { continue }
       if (a === b && missing) r.bad++`,
      { DIR: entryDir(key), NAMES: names.join(',') }
    )
    for (let i = 0; i < 6; i++) {
      if (i > 0) breakMeta(key)
      await storeInCache(emulators(key, ['arm64', 's390x', 'riscv64', 'ppc64le'], { seed: i, size: 2 << 20 }), true)
    }
    const r = await watcher.stop()
    expect(r.bad).toBe(0)
    expect((await findCached(key))?.archs.size).toBe(4)
  })

  it('replace an invalid entry atomically, and leave nothing aside', async () => {
    const key = 'b4'.repeat(32)
    await storeInCache(emulators(key, ['arm64']), true)
    breakMeta(key)
    expect(await findCached(key)).toBeUndefined()
    await storeInCache(emulators(key, ['arm64']), true)
    const e = await useCached((await findCached(key))!, 'all', dirs.workDir)
    expect(e?.archs).toEqual(new Set(['arm64']))
    expect(fs.readdirSync(path.dirname(entryDir(key))).sort()).toEqual([os.arch(), `${os.arch()}.complete`])
  })

  it('let an incomplete entry grow only by one that holds more', async () => {
    const key = 'b5'.repeat(32)
    await storeInCache(emulators(key, ['arm64']), false)
    await storeInCache(emulators(key, ['arm64', 's390x']), false)
    expect((await findCached(key))?.archs).toEqual(new Set(['arm64', 's390x']))
    await storeInCache(emulators(key, ['riscv64']), false) // would lose two: left alone
    expect((await findCached(key))?.archs).toEqual(new Set(['arm64', 's390x']))
  })

  it('do not keep credentials of a download URL', async () => {
    const key = 'b6'.repeat(32)
    const url = 'https://ci:s3cr3t-token@artifacts.example.com/binfmt/qemu.tar.gz?X-Sig=t0ken-in-query#frag'
    await storeInCache({ ...emulators(key, ['arm64']), origin: 'download', from: url }, false)
    const meta = fs.readFileSync(path.join(entryDir(key), META), 'utf8')
    expect(meta).not.toMatch(/s3cr3t|t0ken|frag|ci:/)
    expect((await findCached(key))?.from).toBe('https://artifacts.example.com/binfmt/qemu.tar.gz')
  })
})
