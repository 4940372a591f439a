/**
 * The Actions cache on a hosted runner, through a loopback stand-in of the cache service that the real
 * @actions/cache client talks to (with the action's own archive functions in place of its tar), with both
 * images behind a registry front that logs every request: a cold job saves one entry in post, the emulator
 * image's blobs; a warm job with an empty tool cache and neither image in the engine fetches nothing of the
 * emulator image (the engine pulls the helper by its digest); two jobs saving at once both pass quietly; a
 * damaged entry (cut short, or one byte changed) is ignored with a warning and the job fetches as usual.
 * Registering from the runner itself, a warm job reaches neither a registry nor the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import { MEMORY_DIR, scratchBase } from '../../src/scratch.js'
import { act, clearEntries, containerEvents, containerRuns, emulatedOf, entries, env, useHost } from './host.js'
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

/** As root beside this engine, `auto` registers from the runner itself: ASK asks for the helper. */
const FROM_RUNNER = { ...ASK, 'register-from': 'auto' }

/** This run's scratch directories in memory, if a hosted runner here keeps them there. */
const inMemory = (): string[] =>
  fs.existsSync(MEMORY_DIR) ? fs.readdirSync(MEMORY_DIR).filter(n => n.startsWith('setup-qemu-')) : []

beforeAll(() => {
  fs.mkdirSync(ROOT, { recursive: true })
})
afterAll(() => clearEntries())

describe('a cold job, then a warm one', () => {
  let service: Service
  let cold: RunResult
  let warm: RunResult
  let warmRegistry: string[]
  let warmEntries: string[]
  let memoryBefore: string[]
  beforeAll(async () => {
    memoryBefore = inMemory()
    service = await startService('jobs')
    forgetImages()
    clearEntries()
    cold = await act('cache-cold', ASK, { env: hosted(service, 'job') })
    clearEntries()
    forgetImages()
    fs.writeFileSync(env.FRONT_LOG, '')
    warm = await act('cache-warm', ASK, { env: hosted(service, 'job'), post: false })
    warmRegistry = requests(env.FRONT_LOG)
    warmEntries = entries()
  })
  afterAll(() => service.stop())

  it('the cold job passes and says it will save', () => {
    expect(cold.rc).toBe(0)
    expect(cold.mainLog).toContain('the post step saves one')
  })
  it("its post step saves one entry, the emulator image's blobs", () => {
    expect(cold.postRc).toBe(0)
    expect(cold.postLog).toContain(`saved to the Actions cache as ${KEY}`)
    expect(saves(service)).toBe(1)
  })
  it('the warm job passes, the emulators from the Actions cache, every blob matching its digest from the pin down', () => {
    expect(warm.rc).toBe(0)
    expect(warm.mainLog).toContain(`the image's blobs came from the Actions cache, each matching its digest from ${DIGEST} down`)
    expect(warm.outputs.emulated).toBe(emulatedOf('linux/arm64', 'linux/s390x'))
  })
  it('the warm job fetched nothing of the emulator image', () =>
    expect(warmRegistry.filter(l => l.includes('/binfmt/'))).toEqual([]))
  it('the helper image is never taken from the cache: nothing is loaded into the engine', () =>
    expect(warm.mainLog).not.toMatch(/run: docker load/))
  it('one helper container registered, started early and given its work on stdin', () => {
    const runs = warm.mainLog.split('\n').filter(l => l.startsWith('::debug::run: docker run '))
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatch(/ --interactive .* sh wait$/)
  })
  it('registered what was asked for', () => expect(warmEntries).toEqual(['qemu-aarch64', 'qemu-s390x']))
  it('worked where a hosted runner on this machine would: in memory when /dev/shm qualifies', () => {
    const base = scratchBase({ RUNNER_ENVIRONMENT: 'github-hosted', RUNNER_TEMP: path.join(ROOT, 'job', 'temp') })
    expect(warm.mainLog).toContain(`source=${base}/setup-qemu-`)
  })
  it('left nothing in memory', () => expect(inMemory()).toEqual(memoryBefore))
  it.each(['arm64', 's390x'])('Debian busybox-static:%s runs in a container after the warm job', deb =>
    expect(containerRuns(deb)).toBe(true)
  )
  it('no warnings in either job', () => expect([...annotations(cold), ...annotations(warm)]).toEqual([]))
  it('nothing in the workspace', () => expect(fs.readdirSync(path.join(ROOT, 'job', 'work'))).toEqual([]))
})

describe('a cold job, then a warm one, that register from the runner itself', () => {
  let service: Service
  let cold: RunResult
  let warm: RunResult
  let warmRegistry: string[]
  let events: string[]
  beforeAll(async () => {
    service = await startService('runner-jobs')
    forgetImages()
    clearEntries()
    // a short job name: the entries name the emulators under its RUNNER_TEMP, and an interpreter path has
    // at most 127 characters (a test environment's E2E directory is long already)
    cold = await act('cache-runner-cold', FROM_RUNNER, { env: hosted(service, 'rj') })
    clearEntries()
    forgetImages()
    fs.writeFileSync(env.FRONT_LOG, '')
    const since = Math.floor(Date.now() / 1000)
    warm = await act('cache-runner-warm', FROM_RUNNER, { env: hosted(service, 'rj'), post: false })
    events = containerEvents(since, Math.ceil(Date.now() / 1000) + 1)
    warmRegistry = requests(env.FRONT_LOG)
  })
  afterAll(() => service.stop())

  it('the cold job registers from the runner itself', () => {
    expect(cold.rc).toBe(0)
    expect(cold.mainLog).toContain('registering from the runner itself: root')
  })
  it("its post step saves one entry, the emulator image's blobs", () => {
    expect(cold.postRc).toBe(0)
    expect(saves(service)).toBe(1)
  })
  it('the warm job takes the emulators from the Actions cache, and reaches neither a registry nor the engine', () => {
    expect(warm.rc).toBe(0)
    expect(warm.mainLog).toContain(`the image's blobs came from the Actions cache, each matching its digest from ${DIGEST} down`)
    expect(warmRegistry).toEqual([])
    expect(warm.mainLog).not.toMatch(/::debug::run: docker /)
  })
  it('the engine saw no container during the warm job', () => expect(events).toEqual([]))
  it('registered what was asked for', () => expect(entries()).toEqual(['qemu-aarch64', 'qemu-s390x']))
  it.each(['arm64', 's390x'])('Debian busybox-static:%s runs in a container after the warm job', deb =>
    expect(containerRuns(deb)).toBe(true)
  )
  it('no warnings in either job', () => expect([...annotations(cold), ...annotations(warm)]).toEqual([]))
})

describe('two cold jobs saving at once', () => {
  let service: Service
  let both: RunResult[]
  beforeAll(async () => {
    service = await startService('race')
    forgetImages()
    clearEntries()
    // each job as on a machine of its own: its own directories and tool cache; both miss the cache
    const jobs = ['race-a', 'race-b'].map(job => ({ job, env: hosted(service, job) }))
    for (const { job, env: vars } of jobs) {
      clearEntries()
      forgetImages()
      const main = await act(job, ASK, { env: vars, post: false })
      expect(main.mainLog).toContain('the post step saves one')
    }
    both = await Promise.all(jobs.map(async ({ job, env: vars }) => act(job, ASK, { env: vars, post: 'only' })))
  })
  afterAll(() => service.stop())

  it('both post steps pass', () => expect(both.map(r => r.postRc)).toEqual([0, 0]))
  it('the entry is stored once', () => expect(saves(service)).toBe(1))
  it('neither shows a warning', () => expect(both.flatMap(annotations)).toEqual([]))
})

/** What an interrupted upload or a bad disk does to a stored archive. */
const DAMAGE: [string, (file: string) => void][] = [
  ['cut short', file => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
  [
    // the same size, so only a check of the content can tell
    'with one byte changed',
    file => {
      const data = fs.readFileSync(file)
      const at = Math.floor(data.length / 2)
      data[at] ^= 0x01
      fs.writeFileSync(file, data)
    }
  ]
]

describe.each(DAMAGE)('an entry %s', (how, damage) => {
  let service: Service
  let r: RunResult
  let pulled: string[]
  beforeAll(async () => {
    const job = `damage-${how.replace(/\W+/g, '-')}`
    service = await startService(job)
    forgetImages()
    clearEntries()
    const cold = await act(`cache-${job}-cold`, ASK, { env: hosted(service, job) })
    expect(cold.postLog).toContain('saved to the Actions cache')
    const blobs = path.join(service.data, 'blobs')
    for (const f of fs.readdirSync(blobs)) damage(path.join(blobs, f))
    clearEntries()
    forgetImages()
    fs.writeFileSync(env.FRONT_LOG, '')
    r = await act(`cache-${job}-warm`, ASK, { env: hosted(service, job), post: false })
    pulled = requests(env.FRONT_LOG)
  })
  afterAll(() => service.stop())

  it('the job passes', () => expect(r.rc).toBe(0))
  it('with a warning that names the entry and what to do', () =>
    expect(annotations(r)).toContainEqual(
      expect.stringMatching(new RegExp(`^::warning::the Actions cache entry ${KEY} is ignored: .*gh cache delete ${KEY}`))
    ))
  it('and fetches the emulator image as usual', () =>
    expect(pulled.filter(l => l.includes('/binfmt/blobs/')).length).toBeGreaterThan(0))
  it('registers what was asked for', () => expect(entries()).toEqual(['qemu-aarch64', 'qemu-s390x']))
})
