/**
 * A writer of the repository's Actions cache, on a hosted runner (the cache stand-in, with the real client):
 *
 * - a poisoned entry under the key the next job asks for, written as the review that found it did: the
 *   emulator image with qemu-aarch64 swapped for a working emulator that also runs other code, every record
 *   around it (layer, config, manifest, each named by its own digest) rewritten to agree, an absolute-path
 *   member and a `../` member, and a helper image to load. The next job runs nothing from it, writes nothing
 *   outside its directory, loads no image, warns naming the entry, fetches from the registry, and its
 *   platforms work;
 * - the same swapped image alone, a well-formed archive: refused by its pin all the same;
 * - a restore that hangs past its limit (a minute, or half of `timeout`): the job goes on and fetches, and
 *   nothing appears in the workspace afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import { hostPlatform } from '../../src/platform/host.js'
import { platformImage } from '../acquire/registry/images.js'
import { tar, type Member } from '../acquire/registry/tarball.js'
import { act, clearEntries, containerRuns, docker, emulatedOf, entries, env, useHost } from './host.js'
import {
  ASK,
  DIGEST,
  KEY,
  ROOT,
  annotations,
  forgetImages,
  hosted,
  requests,
  saves,
  startService,
  type Service
} from './hosted.js'

useHost()

const POISON = path.join(ROOT, 'poison')
/** What the swapped emulator leaves when anything runs it. */
const MARKER = path.join(POISON, 'ran')
const POISON_HELPER = 'setup-qemu-poison/helper:e2e'
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex')
const zstd = spawnSync('zstd', ['--version']).status === 0

/** The image with qemu-aarch64 swapped: it runs QEMU, and other code first. */
function swappedImage(): ReturnType<typeof platformImage> {
  const script = `#!/bin/sh\ntouch '${MARKER}'\nexec /usr/bin/qemu-aarch64-static "$@"\n`
  return platformImage(hostPlatform().platforms[0], 'poison', undefined, {
    'usr/bin/qemu-aarch64': script,
    'usr/bin/qemu-s390x': fs.readFileSync('/usr/bin/qemu-s390x-static')
  })
}

/** The members of an entry that holds the swapped image, its manifest where the pinned digest's is looked up. */
function swappedMembers(): Member[] {
  const img = swappedImage()
  const blobs = [img.config, ...img.layers, img.manifest]
  return [
    { name: 'setup-qemu-image/', type: '5' },
    { name: 'setup-qemu-image/sha256/', type: '5' },
    ...blobs.map(b => ({ name: `setup-qemu-image/sha256/${b.digest.slice(7)}`, body: b.bytes, mode: 0o644 })),
    { name: `setup-qemu-image/sha256/${DIGEST.slice(7)}`, body: img.manifest.bytes, mode: 0o644 }
  ]
}

/** Replaces what the service stores for every entry with an archive of the members, as the library compresses it. */
function poison(service: Service, members: Member[]): void {
  const plain = path.join(POISON, 'entry.tar')
  fs.writeFileSync(plain, tar(members))
  const blobs = path.join(service.data, 'blobs')
  for (const blob of fs.readdirSync(blobs)) {
    const file = path.join(blobs, blob)
    fs.rmSync(file)
    if (zstd) execFileSync('zstd', ['-q', '-o', file, plain])
    else execFileSync('sh', ['-c', 'gzip -c "$1" > "$2"', 'sh', plain, file])
  }
}

/** The files under dir, relative. */
const tree = (dir: string): string[] => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : [])
/** Where the emulators were kept in the job's tool cache. */
const toolCacheEmulator = (vars: Record<string, string>, name: string): string =>
  path.join(
    vars.RUNNER_TOOL_CACHE,
    'setup-qemu',
    `0.0.0-k${DIGEST.slice(7)}`,
    process.arch === 'x64' ? 'x64' : process.arch,
    name
  )

/** A cold job that saves the entry, then the entry replaced by members, then the next job. */
async function warmAfterPoison(
  job: string,
  members: () => Member[]
): Promise<{ r: RunResult; vars: Record<string, string>; fetched: string[]; savesAfterCold: number; service: Service }> {
  fs.rmSync(POISON, { recursive: true, force: true })
  fs.mkdirSync(POISON, { recursive: true })
  const service = await startService(job)
  forgetImages()
  clearEntries()
  const cold = await act(`${job}-cold`, ASK, { env: hosted(service, job) })
  expect(cold.postLog).toContain(`saved to the Actions cache as ${KEY}`)
  const savesAfterCold = saves(service)
  poison(service, members())
  clearEntries()
  forgetImages()
  fs.writeFileSync(env.FRONT_LOG, '')
  const vars = hosted(service, job)
  const r = await act(`${job}-warm`, ASK, { env: vars })
  return { r, vars, fetched: requests(env.FRONT_LOG), savesAfterCold, service }
}

beforeAll(() => {
  fs.mkdirSync(ROOT, { recursive: true })
})
afterAll(() => {
  clearEntries()
  docker('rmi', '--force', POISON_HELPER)
})

describe('a poisoned entry: a swapped emulator, every record rewritten, an absolute and a ../ member, a helper image', () => {
  let run: Awaited<ReturnType<typeof warmAfterPoison>>
  let helperBefore: boolean
  beforeAll(async () => {
    // the helper image the entry carries: busybox under a name of its own, saved and removed again
    docker('pull', env.HELPER_IMAGE)
    docker('tag', env.HELPER_IMAGE, POISON_HELPER)
    const helperTar = path.join(ROOT, 'poison-helper.tar')
    docker('save', '--output', helperTar, POISON_HELPER)
    docker('rmi', POISON_HELPER)
    helperBefore = docker('image', 'inspect', POISON_HELPER).status === 0
    run = await warmAfterPoison('poisoned', () => [
      ...swappedMembers(),
      { name: 'setup-qemu-image/helper.tar', body: fs.readFileSync(helperTar), mode: 0o644 },
      { name: path.join(POISON, 'absolute'), body: 'written by the archive\n' },
      { name: 'setup-qemu-image/../../poison-dotdot', body: 'written by the archive\n' }
    ])
  })
  afterAll(() => run?.service.stop())

  it('the job passes, and its platforms work', () => {
    expect(run.r.rc).toBe(0)
    expect(run.r.outputs.emulated).toBe(emulatedOf('linux/arm64', 'linux/s390x'))
    expect(entries()).toEqual(['qemu-aarch64', 'qemu-s390x'])
  })
  it.each(['arm64', 's390x'])('Debian busybox-static:%s runs in a container after it', deb =>
    expect(containerRuns(deb)).toBe(true)
  )
  it('it warns, naming the entry, why, and what to do', () =>
    expect(annotations(run.r)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^::warning::the Actions cache entry ${KEY} is ignored: the member .* has an absolute path\\. .*gh cache delete ${KEY}`
        )
      )
    ))
  it('nothing from the entry ran', () => expect(fs.existsSync(MARKER)).toBe(false))
  it('nothing was written outside its directory: not the absolute member, not the ../ one, nothing in the workspace', () => {
    expect(tree(POISON)).toEqual(['entry.tar'])
    expect(fs.existsSync(path.join(ROOT, 'poisoned', 'poison-dotdot'))).toBe(false)
    expect(tree(path.join(ROOT, 'poisoned', 'work'))).toEqual([])
  })
  it('no image was loaded', () => {
    expect(helperBefore).toBe(false)
    expect(docker('image', 'inspect', POISON_HELPER).status).not.toBe(0)
    expect(run.r.mainLog).not.toMatch(/run: docker load/)
  })
  it('the emulators came from the registry, and are those the pin names', () => {
    expect(run.fetched.filter(l => l.includes('/binfmt/blobs/')).length).toBeGreaterThan(0)
    expect(sha(toolCacheEmulator(run.vars, 'qemu-aarch64'))).toBe(sha('/usr/bin/qemu-aarch64-static'))
  })
  it('post saves nothing over it', () => expect(saves(run.service)).toBe(run.savesAfterCold))
})

describe('the swapped image alone, in a well-formed entry', () => {
  let run: Awaited<ReturnType<typeof warmAfterPoison>>
  beforeAll(async () => {
    run = await warmAfterPoison('swapped', swappedMembers)
  })
  afterAll(() => run?.service.stop())

  it('the job passes', () => expect(run.r.rc).toBe(0))
  it('it warns that the entry does not hold what the pin names', () =>
    expect(annotations(run.r)).toContainEqual(
      expect.stringContaining(`::warning::the Actions cache entry ${KEY} is ignored: it does not hold the image ${DIGEST} names`)
    ))
  it('nothing from the entry ran, and the emulators are those the pin names', () => {
    expect(fs.existsSync(MARKER)).toBe(false)
    expect(sha(toolCacheEmulator(run.vars, 'qemu-aarch64'))).toBe(sha('/usr/bin/qemu-aarch64-static'))
  })
  it('post saves nothing over it', () => expect(saves(run.service)).toBe(run.savesAfterCold))
})

describe('a restore that hangs past its limit (timeout: 10, so 5 s)', () => {
  let service: Service
  let r: RunResult
  let fetched: string[]
  let workspace: string
  beforeAll(async () => {
    service = await startService('hangs')
    forgetImages()
    clearEntries()
    const cold = await act('hangs-cold', ASK, { env: hosted(service, 'hangs') })
    expect(cold.postLog).toContain(`saved to the Actions cache as ${KEY}`)
    // every download is held 8 s: the answer comes while the next job still runs, or after it
    fs.writeFileSync(path.join(service.data, 'delay'), '8000\n')
    clearEntries()
    forgetImages()
    fs.writeFileSync(env.FRONT_LOG, '')
    const vars = hosted(service, 'hangs')
    workspace = vars.GITHUB_WORKSPACE
    r = await act('hangs-warm', { ...ASK, timeout: '10' }, { env: vars, post: false })
    fetched = requests(env.FRONT_LOG)
    // long enough for the held download to have been answered
    await new Promise(resolve => setTimeout(resolve, 10_000))
  }, 120_000)
  afterAll(() => service.stop())

  it('the job goes on and passes', () => expect(r.rc).toBe(0))
  it('the log says the cache did not answer in time', () =>
    expect(r.mainLog).toContain('the Actions cache could not be read (it did not answer within 5s): fetching as usual'))
  it('the emulators were fetched from the registry', () =>
    expect(fetched.filter(l => l.includes('/binfmt/blobs/')).length).toBeGreaterThan(0))
  it('nothing appears in the workspace afterwards', () => expect(tree(workspace)).toEqual([]))
  it('no warning about the abandoned restore', () => expect(annotations(r)).toEqual([]))
})
