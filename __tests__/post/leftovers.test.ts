/**
 * A main step killed outright (SIGKILL after the cancel grace period, out of memory) cannot remove the
 * containers it created: it records its run first, and post removes what carries that run's label.
 */
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CONTAINER_LABEL, RUN_ID } from '../../src/constants.js'
import { Docker } from '../../src/engine/docker.js'
import { mainsEngine, sweepLeftovers } from '../../src/post/post.js'
import { leftRun, markMainEnded, markMainRan } from '../../src/state.js'
import { captureOutput } from '../helpers/output.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leftovers-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A docker CLI that lists two containers for `ps` and records every call, one line each. */
function fakeDocker(): { bin: string; calls: () => string[] } {
  const bin = path.join(dir, `docker-${Math.random().toString(16).slice(2)}`)
  const log = `${bin}.log`
  fs.writeFileSync(bin, `#!/bin/sh\necho "$*" >> '${log}'\n[ "$1" = ps ] && printf '0123456789ab\\nba9876543210\\n'\nexit 0\n`, {
    mode: 0o755
  })
  return { bin, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []) }
}

/** What the runner hands the next step of this action back: the last value saved for each name. */
function savedState(file: string): Record<string, string> {
  const state: Record<string, string> = {}
  const text = fs.readFileSync(file, 'utf8')
  for (const m of text.matchAll(/^([^<\n]+)<<(\S+)\n([\s\S]*?)\n?\2$/gm)) state[m[1]] = m[3]
  return state
}

const output = captureOutput()
afterEach(() => {
  jest.restoreAllMocks()
  delete process.env.GITHUB_STATE
  delete process.env.STATE_run
  delete process.env.STATE_cleanup
})

describe('main', () => {
  it('records its run before anything else, and clears it once it has removed its own containers', () => {
    const file = path.join(dir, 'state')
    fs.writeFileSync(file, '')
    process.env.GITHUB_STATE = file
    markMainRan()
    expect(savedState(file)).toEqual({ isPost: 'true', run: RUN_ID })
    markMainEnded()
    expect(savedState(file)).toEqual({ isPost: 'true', run: '' })
  })
})

describe('post', () => {
  it("removes the containers labelled with a killed main's run, with their anonymous volumes", () => {
    const { bin, calls } = fakeDocker()
    process.env.STATE_run = '4242-a1b2c3'
    sweepLeftovers(new Docker(60, bin))
    expect(calls()).toEqual([
      `ps --all --quiet --filter label=${CONTAINER_LABEL}=4242-a1b2c3`,
      'rm --force --volumes 0123456789ab ba9876543210'
    ])
    expect(output.text).toContain('removed 2 container(s) the main step left behind')
  })

  it.each([
    ['main ended by itself', ''],
    ['no main ran', undefined],
    ['a value no run has', '4242-a1b2c3 --filter=x'],
    ['a label filter of its own', 'label=other']
  ])('asks the engine nothing when %s', (_, state) => {
    const { bin, calls } = fakeDocker()
    if (state !== undefined) process.env.STATE_run = state
    expect(leftRun()).toBeUndefined()
    sweepLeftovers(new Docker(60, bin))
    expect(calls()).toEqual([])
  })

  it("removes nothing of another run's, and says nothing, when the engine lists none", () => {
    const bin = path.join(dir, 'docker-empty')
    fs.writeFileSync(bin, `#!/bin/sh\necho "$*" >> '${bin}.log'\n`, { mode: 0o755 })
    expect(new Docker(60, bin).removeOwnContainers('7-000000')).toBe(0)
    expect(fs.readFileSync(`${bin}.log`, 'utf8')).toBe(`ps --all --quiet --filter label=${CONTAINER_LABEL}=7-000000\n`)
  })

  it("goes to the engine main used, as its saved state names it, whatever the job's environment says now", () => {
    const bin = path.join(dir, 'on-path')
    fs.mkdirSync(bin, { recursive: true })
    const log = path.join(bin, 'docker.log')
    fs.writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\necho "$DOCKER_HOST $1" >> '${log}'\n`, { mode: 0o755 })
    const was = { PATH: process.env.PATH, DOCKER_HOST: process.env.DOCKER_HOST }
    process.env.PATH = `${bin}:${process.env.PATH}`
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock'
    process.env.STATE_run = '4242-a1b2c3'
    try {
      process.env.STATE_cleanup = JSON.stringify({
        added: [],
        removed: [],
        interpreterDir: dir,
        native: ['amd64'],
        registrar: 'container',
        helperImage: 'busybox@sha256:' + 'b'.repeat(64),
        privilege: 'auto',
        timeout: 600,
        endpoint: { host: 'tcp://127.0.0.1:2999' }
      })
      sweepLeftovers(mainsEngine())
      // with no state, or one that fails its checks, the job's engine
      process.env.STATE_cleanup = '{"added":'
      sweepLeftovers(mainsEngine())
    } finally {
      process.env.PATH = was.PATH
      if (was.DOCKER_HOST === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = was.DOCKER_HOST
    }
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'tcp://127.0.0.1:2999 ps',
      'unix:///nonexistent/docker.sock ps'
    ])
  })

  it('without a docker CLI, goes on', () => {
    process.env.STATE_run = '4242-a1b2c3'
    expect(() => sweepLeftovers(new Docker(60, path.join(dir, 'no-such-docker')))).not.toThrow()
  })
})
