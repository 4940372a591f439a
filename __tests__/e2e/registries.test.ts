/**
 * The emulator image over the registry API, against the registries setup.sh starts: one that demands bearer
 * tokens (from its token server, as Docker Hub's does); one that demands Basic auth, with the credentials in a
 * Docker config file; one that refuses the action's client (HTTP 403 to it, through the registry front), so
 * the engine's pull is used and the log says so; a tag resolved once, named with the line that pins it, and
 * cached by its digest, in the tool cache and the Actions cache alike; and a Docker Hub stand-in reached
 * through the step's HTTPS proxy, with `registry-mirror`: a mirror serving the pinned image is used, and one
 * serving other bytes under that name is refused, with Docker Hub used instead.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import { E2E, act, clearEntries, containerRuns, emulatedOf, entries, env, runDir, toolCache, useHost } from './host.js'
import { DIGEST, HELPER, KEY, hosted, startService, type Service } from './hosted.js'

useHost()

const PLATFORM = 'linux/arm64'
const ASK = { platforms: 'arm64', 'helper-image': env.HELPER_IMAGE }
const pinned = (reg: string): string => `${reg}/binfmt:test@${DIGEST}`
const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])
const FAIL = path.join(env.FRONT_CONTROL, 'fail')

/** A run, with the entries it left (a later step starts from an empty table). */
type Step = RunResult & { left: string[] }

/** A step on its own tool cache, from an empty table. */
async function step(name: string, inputs: Record<string, string>, vars: Record<string, string> = {}): Promise<Step> {
  clearEntries()
  const r = await act(name, { ...ASK, ...inputs }, { env: { RUNNER_TOOL_CACHE: toolCache(name), ...vars }, post: false })
  return { ...r, left: entries() }
}
const works = (r: RunResult & { left?: string[] }): void => {
  expect(r.rc).toBe(0)
  expect(r.outputs.emulated).toBe(emulatedOf(PLATFORM))
  expect(r.left ?? entries()).toEqual(['qemu-aarch64'])
}

afterAll(() => {
  fs.rmSync(FAIL, { force: true })
  clearEntries()
})

describe('a registry that demands bearer tokens', () => {
  let r: RunResult
  beforeAll(async () => {
    fs.writeFileSync(env.TOKENS_LOG, '')
    r = await step('bearer', { image: pinned(env.TOKEN_REG) })
  })

  it('serves the image, with an anonymous token from its token server', () => {
    works(r)
    expect(lines(env.TOKENS_LOG)).toContain('GET repository:binfmt:pull')
    expect(r.mainLog).toContain(`fetched ${pinned(env.TOKEN_REG)} from its registry`)
  })
  it('the platform works in a container', () => expect(containerRuns('arm64')).toBe(true))
})

describe('a registry that demands Basic auth, with the credentials in a Docker config file', () => {
  let withConfig: RunResult
  let without: RunResult
  beforeAll(async () => {
    const config = path.join(E2E, 'basic-docker-config')
    fs.mkdirSync(config, { recursive: true })
    const auth = Buffer.from(`${env.BASIC_USER}:${env.BASIC_PASSWORD}`).toString('base64')
    fs.writeFileSync(path.join(config, 'config.json'), JSON.stringify({ auths: { [env.BASIC_REG]: { auth } } }))
    withConfig = await step('basic', { image: pinned(env.BASIC_REG) }, { DOCKER_CONFIG: config })
    without = await step('basic-none', { image: pinned(env.BASIC_REG) }, { DOCKER_CONFIG: path.join(E2E, 'no-docker-config') })
  })

  it('serves the image over the API with those credentials', () => {
    works(withConfig)
    expect(withConfig.mainLog).toContain(`fetched ${pinned(env.BASIC_REG)} from its registry`)
  })
  it('never shows the password', () =>
    expect(
      `${withConfig.mainLog}`
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
    ).not.toContain(env.BASIC_PASSWORD))
  it('without them, is denied, says how to log in, and the engine (denied too) fails the step', () => {
    expect(without.rc).toBe(1)
    expect(without.mainLog).toMatch(
      /could not be fetched over the registry API \(.*log in first.*\): the Docker engine pulls it instead/
    )
  })
})

describe('a registry that refuses the action’s client (403 to it; the engine is served)', () => {
  let r: RunResult
  let front: string[]
  beforeAll(async () => {
    fs.writeFileSync(env.FRONT_LOG, '')
    fs.writeFileSync(FAIL, '-1 403 v2 setup-qemu\n')
    try {
      r = await step('refused-api', { image: `${env.FRONT}/binfmt:test@${DIGEST}` })
    } finally {
      fs.rmSync(FAIL, { force: true })
    }
    front = lines(env.FRONT_LOG)
  })

  it("the engine's pull is used, and the log says why", () => {
    works(r)
    expect(r.mainLog).toMatch(/could not be fetched over the registry API \(.*HTTP 403.*\): the Docker engine pulls it instead/)
  })
  // the engine may hold the image already, and then asks the front nothing
  it('the front refused the action’s client', () => expect(front.some(l => l.endsWith('-> fault 403'))).toBe(true))
})

describe('an image by tag', () => {
  const TAG = `${env.FRONT}/binfmt:test`
  const resolutions = (): number => lines(env.FRONT_LOG).filter(l => /^(HEAD|GET) \/v2\/binfmt\/manifests\/test$/.test(l)).length
  let first: RunResult
  let firstResolutions: number
  let second: RunResult
  let secondResolutions: number
  let secondBlobs: number
  let service: Service
  let cold: RunResult
  beforeAll(async () => {
    const tc = toolCache('by-tag')
    clearEntries()
    fs.writeFileSync(env.FRONT_LOG, '')
    first = await act('by-tag', { ...ASK, image: TAG }, { env: { RUNNER_TOOL_CACHE: tc }, post: false })
    firstResolutions = resolutions()
    clearEntries()
    fs.writeFileSync(env.FRONT_LOG, '')
    second = await act('by-tag-again', { ...ASK, image: TAG }, { env: { RUNNER_TOOL_CACHE: tc }, post: false })
    secondResolutions = resolutions()
    secondBlobs = lines(env.FRONT_LOG).filter(l => l.includes('/binfmt/blobs/')).length
    // on a hosted runner, the Actions cache keeps it under the digest's key, as a pinned image
    service = await startService('by-tag')
    clearEntries()
    cold = await act('by-tag-hosted', { ...ASK, image: TAG, 'helper-image': HELPER }, { env: hosted(service, 'by-tag') })
  })
  afterAll(() => service?.stop())

  it('is resolved once a run', () => {
    works(second)
    expect(first.rc).toBe(0)
    expect(firstResolutions).toBe(1)
    expect(secondResolutions).toBe(1)
  })
  it('the one warning names the digest and how to pin it', () => {
    const warnings = first.mainLog.split('\n').filter(l => l.startsWith('::warning::image '))
    expect(warnings).toEqual([
      `::warning::image ${TAG} is not pinned by digest, and a tag can move: it names ${DIGEST} now, which this run uses. ` +
        `To keep exactly this content, pin it: image: ${TAG}@${DIGEST}`
    ])
  })
  it('is kept in the tool cache by that digest, which the next run uses', () => {
    expect(fs.existsSync(path.join(runDir('by-tag.toolcache'), 'setup-qemu', `0.0.0-k${DIGEST.slice(7)}`))).toBe(true)
    expect(second.mainLog).toContain('emulators from tool cache')
    expect(secondBlobs).toBe(0)
  })
  it('is saved to the Actions cache under the key of that digest', () =>
    expect(cold.postLog).toContain(`saved to the Actions cache as ${KEY}`))
})

describe('Docker Hub through the step’s proxy, with registry-mirror', () => {
  const hubEnv = (): Record<string, string> => ({ HTTPS_PROXY: env.HUB_PROXY, NODE_EXTRA_CA_CERTS: env.HUB_CA })
  let good: RunResult
  let goodConnects: string[]
  let bad: RunResult
  let badConnects: string[]
  beforeAll(async () => {
    fs.writeFileSync(env.PROXY_LOG, '')
    good = await step('mirror-good', { image: env.HUB_IMAGE, 'registry-mirror': env.MIRROR }, hubEnv())
    goodConnects = lines(env.PROXY_LOG)
    fs.writeFileSync(env.PROXY_LOG, '')
    bad = await step('mirror-bad', { image: env.HUB_IMAGE, 'registry-mirror': env.BAD_MIRROR }, hubEnv())
    badConnects = lines(env.PROXY_LOG)
  })

  it('a mirror serving the pinned image is used, and Docker Hub is not asked', () => {
    works(good)
    expect(good.mainLog).toContain(`fetched ${env.HUB_IMAGE} from the mirror`)
    expect(goodConnects).toEqual([])
  })
  it('a mirror serving other bytes under that name is refused, as the log says, and Docker Hub serves the image', () => {
    works(bad)
    expect(bad.mainLog).toContain(`the mirror ${env.BAD_MIRROR} could not be used (it served other content`)
    expect(bad.mainLog).toContain(`fetched ${env.HUB_IMAGE} from its registry`)
    expect(badConnects).toContainEqual(expect.stringMatching(/^CONNECT registry-1\.docker\.io:443 -> 127\.0\.0\.1:\d+$/))
  })
})
