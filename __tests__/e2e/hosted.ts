/**
 * A GitHub-hosted runner as the Actions cache tests need it: a loopback stand-in of the cache service
 * (test/e2e/cache-service.mjs) that the real @actions/cache client talks to, the variables a hosted runner
 * sets, the test images behind the registry front, and an engine that holds neither image, as a new job's.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { RunResult } from '../../scripts/runner.mjs'
import { E2E, docker, env, toolCache } from './host.js'

export const ROOT = path.join(E2E, 'actions-cache')
const digest = (ref: string): string => ref.slice(ref.indexOf('@'))
/** The emulator image and the helper, by the same digests, through the front that logs every request. */
export const IMAGE = `${env.FRONT}/binfmt:test${digest(env.BINFMT_IMAGE)}`
export const HELPER = `${env.FRONT}/busybox:test${digest(env.HELPER_IMAGE)}`
/** The emulator image's digest, `sha256:…` */
export const DIGEST = digest(env.BINFMT_IMAGE).slice(1)
/** The key of its entry: what it holds, the image's digest, the runner's arch. */
export const KEY = `setup-qemu-v4-${process.arch}-image-${DIGEST.slice('sha256:'.length)}`
/** Through a helper container: as root beside the engine, `auto` would register from the runner itself. */
export const ASK = { platforms: 'arm64,s390x', image: IMAGE, 'helper-image': HELPER, 'register-from': 'container' }

export interface Service {
  url: string
  data: string
  log: string
  stop: () => void
}

/** A fresh cache service with nothing in it. */
export async function startService(name: string): Promise<Service> {
  fs.mkdirSync(ROOT, { recursive: true })
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
export function hosted(service: Service, job: string): Record<string, string> {
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

/** The images' ids once seen, so that a copy under no name goes too. */
const seenIds = new Set<string>()

/** A new job's engine: neither image, under any name. */
export function forgetImages(): void {
  for (const ref of [env.BINFMT_IMAGE, env.HELPER_IMAGE, IMAGE, HELPER]) {
    const id = docker('image', 'inspect', '--format', '{{.Id}}', ref).stdout.trim()
    if (id) seenIds.add(id)
  }
  for (const r of [env.BINFMT_IMAGE, env.HELPER_IMAGE, IMAGE, HELPER, ...seenIds]) docker('rmi', '--force', r)
}

export const requests = (log: string): string[] => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)
export const saves = (s: Service): number => requests(s.log).filter(l => l.includes('FinalizeCacheEntryUpload')).length

/** Warnings and errors, but the one every job here gives for the e2e images' QEMU (known-bad-qemu.test.ts tests it). */
export const annotations = (r: RunResult): string[] =>
  `${r.mainLog}\n${r.postLog}`
    .split('\n')
    .filter(
      l => /^::(warning|error)/.test(l) && !/^::warning title=QEMU [^:]*::the emulators are QEMU .* known to break builds/.test(l)
    )
