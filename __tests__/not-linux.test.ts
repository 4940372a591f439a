/**
 * The bundle on a runner that is not Linux. It is built from src/ into a directory of its own and run by
 * Node as the runner runs it, with process.platform set to darwin or win32 before it loads. Main fails
 * at once with the Linux message. Nothing calls the engine, sudo or mount, no request reaches the Actions
 * cache service, and nothing is made under RUNNER_TEMP, RUNNER_TOOL_CACHE or the scratch base. Post
 * then passes quietly. On linux the same bundle and harness do see the engine called: the silence
 * elsewhere means something.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { readRecords } from '../scripts/runner.mjs'
import { scratchBase } from '../src/scratch.js'

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-not-linux-'))
const BUNDLE = path.join(ROOT, 'dist')
const FAKES = path.join(ROOT, 'bin')
const CALLS = path.join(ROOT, 'calls')
const PRELOAD = path.join(ROOT, 'platform.mjs')

/** The tools the action may run that reach the engine or the host: each records its call and fails. */
const TOOLS = ['docker', 'sudo', 'mount', 'unshare', 'chroot']

let requests: string[] = []
let server: http.Server
let cacheUrl = ''

beforeAll(async () => {
  const built = spawnSync(
    process.execPath,
    ['node_modules/rollup/dist/bin/rollup', '--config', 'rollup.config.mjs', '--silent'],
    {
      encoding: 'utf8',
      env: { ...process.env, SETUP_QEMU_BUNDLE_DIR: BUNDLE }
    }
  )
  if (built.status !== 0) throw new Error(`the bundle did not build: ${built.stderr}`)
  fs.mkdirSync(FAKES)
  for (const tool of TOOLS) {
    fs.writeFileSync(
      path.join(FAKES, tool),
      `#!/bin/sh\necho "${tool} $*" >> '${CALLS}'\n` +
        'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2\nexit 1\n',
      { mode: 0o755 }
    )
  }
  fs.writeFileSync(PRELOAD, "Object.defineProperty(process, 'platform', { value: process.env.FAKE_PLATFORM })\n")
  server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    res.writeHead(500).end()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cacheUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}, 180_000)

afterAll(async () => {
  await new Promise(resolve => server.close(resolve))
  fs.rmSync(ROOT, { recursive: true, force: true })
})

interface Step {
  rc: number | null
  out: string
}

interface Run {
  main: Step
  post: Step
  calls: string[]
  requests: string[]
  /** what is in RUNNER_TEMP and RUNNER_TOOL_CACHE afterwards */
  left: string[]
  /** setup-qemu-* directories that appeared in the scratch base */
  scratch: string[]
}

const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])

/** Main and then post, as the runner runs them, with process.platform as given. */
async function runAs(name: string, platform: NodeJS.Platform): Promise<Run> {
  const dir = path.join(ROOT, name)
  const files = { temp: path.join(dir, 'temp'), tools: path.join(dir, 'toolcache'), files: path.join(dir, 'files') }
  for (const d of Object.values(files)) fs.mkdirSync(d, { recursive: true })
  const env: NodeJS.ProcessEnv = {
    PATH: `${FAKES}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: path.join(files.files, 'output'),
    GITHUB_STATE: path.join(files.files, 'state'),
    GITHUB_STEP_SUMMARY: path.join(files.files, 'summary'),
    RUNNER_TEMP: files.temp,
    RUNNER_TOOL_CACHE: files.tools,
    // a hosted runner with the Actions cache service: a restore would start as soon as main begins
    RUNNER_ENVIRONMENT: 'github-hosted',
    ACTIONS_CACHE_SERVICE_V2: 'true',
    ACTIONS_RESULTS_URL: cacheUrl,
    ACTIONS_CACHE_URL: cacheUrl,
    ACTIONS_RUNTIME_TOKEN: 'not-a-token',
    INPUT_PLATFORMS: 'arm64,s390x',
    INPUT_TIMEOUT: '5',
    FAKE_PLATFORM: platform
  }
  for (const f of ['output', 'state', 'summary']) fs.writeFileSync(path.join(files.files, f), '')
  fs.rmSync(CALLS, { force: true })
  requests = []
  const base = scratchBase(env)
  const before = listing(base).filter(n => n.startsWith('setup-qemu-'))
  const args = [...(platform === 'linux' ? [] : ['--import', PRELOAD]), path.join(BUNDLE, 'index.js')]
  const step = (vars: NodeJS.ProcessEnv): Promise<Step> =>
    new Promise(resolve => {
      const child = spawn(process.execPath, args, { env: vars, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr.on('data', (c: Buffer) => (out += c.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.on('close', rc => {
        clearTimeout(timer)
        resolve({ rc, out })
      })
    })
  const main = await step(env)
  // as the runner reads it: the toolkit ends lines with os.EOL, which is \r\n where the platform is win32
  if (process.env.DEBUG_NOT_LINUX) console.log(main.out)
  const stateFile = path.join(files.files, 'state')
  fs.writeFileSync(`${stateFile}.lf`, fs.readFileSync(stateFile, 'utf8').replace(/\r\n/g, '\n'))
  const state = Object.fromEntries(Object.entries(readRecords(`${stateFile}.lf`)).map(([k, v]) => [`STATE_${k}`, v]))
  // post is told it is post; a main that refused its platform started nothing for post to sweep, and
  // one that failed on linux (the fake engine is not there) leaves post its run to look for
  expect(state).toEqual({
    STATE_isPost: 'true',
    STATE_run: platform === 'linux' ? expect.stringMatching(/^\d+-[0-9a-f]{6}$/) : ''
  })
  const post = await step({ ...env, ...state })
  return {
    main,
    post,
    calls: fs.existsSync(CALLS) ? fs.readFileSync(CALLS, 'utf8').split('\n').filter(Boolean) : [],
    requests,
    left: [...listing(files.temp), ...listing(files.tools)],
    scratch: listing(base).filter(n => n.startsWith('setup-qemu-') && !before.includes(n))
  }
}

const annotations = (out: string): string[] => out.split('\n').filter(l => /^::(error|warning|notice)/.test(l))

describe.each([
  ['darwin', 'macOS'],
  ['win32', 'Windows']
] as const)('the bundle on a %s runner', (platform, shown) => {
  let r: Run
  beforeAll(async () => {
    r = await runAs(platform, platform)
  }, 120_000)

  it('main fails', () => expect(r.main.rc).toBe(1))
  it('with one error, which says it needs a Linux runner, names this one, and says what to do', () => {
    expect(annotations(r.main.out)).toHaveLength(1)
    const error = annotations(r.main.out)[0]
    expect(error).toMatch(new RegExp(`^::error::this action needs a Linux runner, and this one runs ${shown}: `))
    expect(error).toContain('ubuntu-*')
    expect(error).toContain('self-hosted Linux runner')
    expect(error).toContain("if: runner.os == 'Linux'")
  })
  it('nothing called the engine, sudo or mount', () => expect(r.calls).toEqual([]))
  it('no request reached the Actions cache service', () => expect(r.requests).toEqual([]))
  it('nothing was made under RUNNER_TEMP or RUNNER_TOOL_CACHE, nor a scratch directory', () => {
    expect(r.left).toEqual([])
    expect(r.scratch).toEqual([])
  })
  it('post passes, with no annotation, and says why it has nothing to do', () => {
    expect(r.post.rc).toBe(0)
    expect(annotations(r.post.out)).toEqual([])
    expect(r.post.out).toContain(`the main step did not run on this ${shown} runner`)
  })
})

describe('the same bundle and harness on linux', () => {
  let r: Run
  beforeAll(async () => {
    r = await runAs('linux', 'linux')
  }, 120_000)

  it('reach the engine, which the fake answers as a daemon that is not there', () => {
    expect(r.calls.some(c => c.startsWith('docker '))).toBe(true)
    expect(r.main.rc).toBe(1)
    expect(annotations(r.main.out).join('\n')).not.toContain('needs a Linux runner')
  })
})
