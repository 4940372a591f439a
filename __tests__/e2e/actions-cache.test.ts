/**
 * The Actions cache on a hosted runner, through a loopback stand-in of the cache service that the real
 * @actions/cache client talks to, with both images behind a registry front that logs every request:
 * through a helper container, a cold job saves in post (two entries: the emulators and the helper image);
 * registering from the runner itself, only the emulators, and a warm job runs no container; a warm job with an empty
 * tool cache and neither image in the engine registers without reaching the registry; two jobs saving at
 * once both pass quietly; a damaged entry (cut short, or one byte changed) is ignored with a warning and
 * the job pulls as usual.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import { MEMORY_DIR, scratchBase } from '../../src/scratch.js'
import {
  E2E,
  HELPER as VIA_HELPER,
  act,
  clearEntries,
  containerEvents,
  containerRuns,
  docker,
  emulatedOf,
  entries,
  env,
  toolCache,
  useHost
} from './host.js'

useHost()

const digest = (ref: string): string => ref.slice(ref.indexOf('@'))
const IMAGE = `${env.FRONT}/binfmt:test${digest(env.BINFMT_IMAGE)}`
const HELPER = `${env.FRONT}/busybox:test${digest(env.HELPER_IMAGE)}`
const ASK = { platforms: 'arm64,s390x', image: IMAGE, 'helper-image': HELPER, ...VIA_HELPER }
/** As root beside this engine, `auto` registers from the runner itself. */
const FROM_RUNNER = { platforms: 'arm64,s390x', image: IMAGE, 'helper-image': HELPER }
const ROOT = path.join(E2E, 'actions-cache')

interface Service {
  url: string
  data: string
  log: string
  stop: () => void
}

/** A fresh cache service with nothing in it. */
async function startService(name: string): Promise<Service> {
  const data = path.join(ROOT, `${name}.data`)
  const log = path.join(ROOT, `${name}.log`)
  fs.rmSync(data, { recursive: true, force: true })
  fs.writeFileSync(log, '')
  const child: ChildProcess = spawn('node', ['test/e2e/cache-service.mjs', '0', data, log], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      const m = /listening (\d+)/.exec(c.toString())
      if (m) resolve(m[1])
    })
    child.on('exit', code => reject(new Error(`the cache service exited (${code})`)))
  })
  return { url: `http://127.0.0.1:${port}/`, data, log, stop: () => child.kill() }
}

/** The variables a hosted runner sets, with the same RUNNER_TEMP and workspace path every job (as there). */
function hosted(service: Service, job: string): Record<string, string> {
  const temp = path.join(ROOT, job, 'temp')
  const workspace = path.join(ROOT, job, 'work')
  for (const d of [temp, workspace]) {
    fs.rmSync(d, { recursive: true, force: true })
    fs.mkdirSync(d, { recursive: true })
  }
  return {
    RUNNER_ENVIRONMENT: 'github-hosted',
    ACTIONS_CACHE_SERVICE_V2: 'true',
    ACTIONS_RESULTS_URL: service.url,
    ACTIONS_RUNTIME_TOKEN: 'test-token',
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_TEMP: temp,
    GITHUB_WORKSPACE: workspace,
    RUNNER_TOOL_CACHE: toolCache(`actions-cache-${job}`)
  }
}

/** The images' ids once seen: a helper loaded from the Actions cache is known by nothing else. */
const seenIds = new Set<string>()

/** A new job's engine: neither image, under any name. */
function forgetImages(): void {
  for (const ref of [env.BINFMT_IMAGE, env.HELPER_IMAGE, IMAGE, HELPER]) {
    const id = docker('image', 'inspect', '--format', '{{.Id}}', ref).stdout.trim()
    if (id) seenIds.add(id)
  }
  for (const r of [env.BINFMT_IMAGE, env.HELPER_IMAGE, IMAGE, HELPER, ...seenIds]) docker('rmi', '--force', r)
}

const requests = (log: string): string[] => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)
const saves = (s: Service): number => requests(s.log).filter(l => l.includes('FinalizeCacheEntryUpload')).length
/** This run's scratch directories in memory, if a hosted runner here keeps them there. */
const inMemory = (): string[] =>
  fs.existsSync(MEMORY_DIR) ? fs.readdirSync(MEMORY_DIR).filter(n => n.startsWith('setup-qemu-')) : []

/** Warnings and errors, but the one every job here gives for the e2e images' QEMU (known-bad-qemu.test.ts tests it). */
const annotations = (r: RunResult): string[] =>
  `${r.mainLog}\n${r.postLog}`
    .split('\n')
    .filter(
      l => /^::(warning|error)/.test(l) && !/^::warning title=QEMU [^:]*::the emulators are QEMU .* known to break builds/.test(l)
    )

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
  it('its post step saves two entries, the emulators and the helper image', () => {
    expect(cold.postRc).toBe(0)
    expect(cold.postLog).toContain('saved to the Actions cache')
    expect(saves(service)).toBe(2)
  })
  it('the warm job passes, both restored from the Actions cache', () => {
    expect(warm.rc).toBe(0)
    expect(warm.mainLog).toContain('restored the emulators from the Actions cache')
    expect(warm.mainLog).toContain('restored the helper image from the Actions cache')
    expect(warm.outputs.emulated).toBe(emulatedOf('linux/arm64', 'linux/s390x'))
  })
  it('the warm job reached no registry at all', () => expect(warmRegistry).toEqual([]))
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
  it('its post step saves one entry, the emulators, and no helper image', () => {
    expect(cold.postRc).toBe(0)
    expect(saves(service)).toBe(1)
    expect(`${cold.mainLog}\n${cold.postLog}`).not.toContain('helper image')
  })
  it('the warm job restores the emulators, and reaches neither a registry nor the engine', () => {
    expect(warm.rc).toBe(0)
    expect(warm.mainLog).toContain('restored the emulators from the Actions cache')
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
      const main = await act(job, ASK, { env: vars, post: false })
      expect(main.mainLog).toContain('the post step saves one')
    }
    both = await Promise.all(jobs.map(async ({ job, env: vars }) => act(job, ASK, { env: vars, post: 'only' })))
  })
  afterAll(() => service.stop())

  it('both post steps pass', () => expect(both.map(r => r.postRc)).toEqual([0, 0]))
  it('each entry is stored once', () => expect(saves(service)).toBe(2))
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
  it('with a warning that the entry could not be used', () =>
    expect(annotations(r).some(l => l.startsWith('::warning') && /restore/i.test(l))).toBe(true))
  // the engine may hold the manifest from an earlier pull and only ask the registry's /v2/
  it('and pulls as usual', () => expect(pulled.length).toBeGreaterThan(0))
  it('registers what was asked for', () => expect(entries()).toEqual(['qemu-aarch64', 'qemu-s390x']))
})
