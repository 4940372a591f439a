/**
 * Fetches that fail at the registry, through a front that logs every request and fails the ones it is told
 * to (test/e2e/registry-front.mjs). The action fetches the image over the registry API itself first: a
 * registry briefly unavailable (503) or dropping the connection is tried again within `timeout`; one that
 * wants credentials (401) or does not have the image (404) is asked once, and then the engine's pull is
 * tried (which fails the same way, once); one that never recovers is given up at `timeout`, by the action
 * and then by the engine. What one `docker pull` asks of the registry is measured on this engine first, not
 * assumed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import { NATIVE, act, clearEntries, docker, emulatedOf, entries, env, isNative, toolCache, useHost } from './host.js'

useHost()

/** The test image, by the same digest, through the front. */
const IMAGE = env.BINFMT_IMAGE.replace(`${env.REG}/`, `${env.FRONT}/`)
const DIGEST = IMAGE.slice(IMAGE.indexOf('@') + 1)
/** What the engine calls the image once pulled by digest (the tag goes). */
const PULLED = IMAGE.replace(/:[^:/@]+@/, '@')
/** The host's own platform, which the action pulls for. */
const HOST_PLATFORM = NATIVE[0]
/** A platform this host must emulate, so the action needs the image. */
const PLATFORM = ['linux/arm64', 'linux/s390x'].find(p => !isNative(p)) ?? 'linux/s390x'

const FAIL = path.join(env.FRONT_CONTROL, 'fail')
/** Tells the front which requests to fail: `<count> <kind> [scope]`, see registry-front.mjs. */
const fault = (spec: string): void => fs.writeFileSync(FAIL, `${spec}\n`)
const noFault = (): void => fs.rmSync(FAIL, { force: true })
/** What is left of the fault: the front counts it down as it fails requests. */
const faultLeft = (): string => (fs.existsSync(FAIL) ? fs.readFileSync(FAIL, 'utf8').trim() : '')
const clearFrontLog = (): void => fs.writeFileSync(env.FRONT_LOG, '')
/** Manifest requests the front saw since its log was cleared, answered or failed. */
const manifestRequests = (): number =>
  fs
    .readFileSync(env.FRONT_LOG, 'utf8')
    .split('\n')
    .filter(l => /^(GET|HEAD) \/v2\/\S+\/manifests\//.test(l)).length

/**
 * Makes the next pull through the front a real one: the engine's reference goes, and so does the
 * manifest dockerd keeps in containerd's content store, or a pull by the same digest asks the
 * registry for nothing but /v2/ (dockerd 20.10 does that, whatever repository it came from).
 */
function forgetImage(): void {
  docker('rmi', PULLED)
  for (const address of ['/var/run/docker/containerd/containerd.sock', '/run/containerd/containerd.sock']) {
    if (fs.existsSync(address)) spawnSync('ctr', ['--address', address, '--namespace', 'moby', 'content', 'rm', DIGEST])
  }
}

interface Pull {
  status: number
  stderr: string
  manifests: number
}

/** One `docker pull` as the action makes it, with the front failing what `spec` says. */
function pullOnce(spec?: string): Pull {
  forgetImage()
  if (spec) fault(spec)
  else noFault()
  clearFrontLog()
  try {
    const r = docker('pull', '--quiet', '--platform', HOST_PLATFORM, IMAGE)
    return { status: r.status, stderr: r.stderr.trim(), manifests: manifestRequests() }
  } finally {
    noFault()
    forgetImage()
  }
}

/** The step's error annotations: where the action says why it failed. */
const errors = (r: RunResult): string =>
  r.mainLog
    .split('\n')
    .filter(l => l.startsWith('::error'))
    .join('\n')

/** Runs the step on the test image through the front, from an empty table, with the front failing what `spec` says. */
async function pullingStep(name: string, spec: string, inputs: Record<string, string> = {}): Promise<RunResult> {
  clearEntries()
  forgetImage()
  const local = docker('image', 'inspect', IMAGE).status
  if (local === 0) throw new Error(`the engine still has ${IMAGE}: the step would not pull it`)
  clearFrontLog()
  fault(spec)
  return act(
    name,
    { platforms: PLATFORM, image: IMAGE, 'helper-image': env.HELPER_IMAGE, ...inputs },
    { env: { RUNNER_TOOL_CACHE: toolCache(name) }, timeoutMs: 240_000 }
  )
}

/** What each test leaves: no fault, no image from the front, no entry. */
function tidy(): void {
  noFault()
  forgetImage()
  clearEntries()
}

// one pull on this engine: how many manifest requests it makes, clean and with each lasting fault
const once = {} as Record<'clean' | 'unauthorized' | 'missing', Pull>
beforeAll(() => {
  once.clean = pullOnce()
  once.unauthorized = pullOnce('-1 401 manifests')
  once.missing = pullOnce('-1 404 manifests')
})
afterAll(tidy)

describe('one docker pull through the front, as this engine makes it', () => {
  it('a clean pull passes and asks for the manifest', () => {
    expect(once.clean.status).toBe(0)
    expect(once.clean.manifests).toBeGreaterThan(0)
  })
  it('a 401 on the manifest fails it', () => expect(once.unauthorized.status).not.toBe(0))
  it('a 404 on the manifest fails it', () => expect(once.missing.status).not.toBe(0))
})

describe.each([
  ['503', 'a registry that answers 503 to the first two manifest requests'],
  ['drop', 'a registry that drops the connection on the first two manifest requests']
])('%s: %s', kind => {
  let r: RunResult
  let left: string
  let manifests: number
  beforeAll(async () => {
    r = await pullingStep(`pull-${kind}`, `2 ${kind} manifests`)
    left = faultLeft()
    manifests = manifestRequests()
  })
  afterAll(tidy)

  it('the step passes', () => expect(r.rc).toBe(0))
  it('the front failed both requests', () => expect(left).toBe(`0 ${kind} manifests`))
  it('the manifest was asked for three times: twice failed, then served (the image is one manifest)', () =>
    expect(manifests).toBe(3))
  it('the action fetched it itself: no engine pull', () => expect(r.mainLog).not.toContain('the Docker engine pulls it instead'))
  it('the log says it retried', () => expect(r.mainLog).toMatch(/retrying/i))
  it('the platform is set up from the image', () => {
    expect(r.outputs.emulated).toBe(emulatedOf(PLATFORM))
    expect(entries().length).toBeGreaterThan(0)
  })
})

describe('a registry that wants credentials (401 on every manifest request)', () => {
  let r: RunResult
  let manifests: number
  beforeAll(async () => {
    r = await pullingStep('pull-401', '-1 401 manifests')
    manifests = manifestRequests()
  })
  afterAll(tidy)

  it('the step fails', () => expect(r.rc).toBe(1))
  it('the error names authentication', () => expect(errors(r)).toMatch(/authentication/i))
  it('the action asked once, then the engine pulled once: one manifest request more than one docker pull makes', () =>
    expect(manifests).toBe(once.unauthorized.manifests + 1))
  it('the log says the engine was asked, and does not say it retried', () => {
    expect(r.mainLog).toMatch(/could not be fetched over the registry API \(.*HTTP 401.*\): the Docker engine pulls it instead/)
    expect(r.mainLog).not.toMatch(/retrying/i)
  })
  it('nothing is registered', () => expect(entries()).toEqual([]))
})

describe('a registry that does not have the image (404 on every manifest request)', () => {
  let r: RunResult
  let manifests: number
  beforeAll(async () => {
    r = await pullingStep('pull-404', '-1 404 manifests')
    manifests = manifestRequests()
  })
  afterAll(tidy)

  it('the step fails', () => expect(r.rc).toBe(1))
  it('the error says not found', () => expect(errors(r)).toMatch(/not found/i))
  it('the action asked once, then the engine pulled once: one manifest request more than one docker pull makes', () =>
    expect(manifests).toBe(once.missing.manifests + 1))
  it('the log says the engine was asked, and does not say it retried', () => {
    expect(r.mainLog).toMatch(/could not be fetched over the registry API \(.*HTTP 404.*\): the Docker engine pulls it instead/)
    expect(r.mainLog).not.toMatch(/retrying/i)
  })
  it('nothing is registered', () => expect(entries()).toEqual([]))
})

describe('a registry that never recovers (503 on every request), with timeout: 20', () => {
  let r: RunResult
  beforeAll(async () => {
    r = await pullingStep('pull-timeout', '-1 503', { timeout: '20' })
  })
  afterAll(tidy)

  // the step is killed at 240 s (timeoutMs), well before jest's 300 s: a step that never gives up fails here
  it('the step fails', () => expect(r.rc).toBe(1))
  it('the error says it gave up at the timeout', () => expect(errors(r)).toMatch(/timeout|gave up/i))
  it('nothing is registered', () => expect(entries()).toEqual([]))
})
