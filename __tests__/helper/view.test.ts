/**
 * The engine's view of the table through a helper: the probes sent in, the table read there, and what
 * it says of a platform whose probe hung.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Engine } from '../../src/engine/engine.js'
import { HelperContainer } from '../../src/helper/container.js'
import { HelperView } from '../../src/helper/view.js'
import { EngineTable } from '../../src/host/table.js'
import { byArch } from '../../src/platform/platforms.js'
import { verify } from '../../src/verify/verify.js'
import { FakeEngine, ok } from '../helpers/engine.js'

const view = (engine: Engine): HelperView =>
  new HelperView(new HelperContainer({ engine, image: 'busybox', privilege: 'auto', limit: 120 }))
const hex = (s: string): string => Buffer.from(s).toString('hex')

describe("the table as the engine's containers see it", () => {
  const look = ['ready', 'status enabled', 'boot 0b0c-11', 'machine x86_64', 'probe 42 /run/setup-qemu-probes/probe-arm64'].join(
    '\n'
  )

  it('probes go in on stdin, and their paths are arguments', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      fs.writeFileSync(path.join(dir, 'probe-arm64'), 'probe', { mode: 0o755 })
      const docker = new FakeEngine({ runs: [{ exitCode: 0, stdout: look, stderr: '' }] })
      const l = await view(docker).look(new Map([['arm64', path.join(dir, 'probe-arm64')]]))
      expect(l.machine).toBe('x86_64')
      const run = docker.runCalls[0].args
      expect(run.slice(-4)).toEqual(['stream', 'look', '', '/run/setup-qemu-probes/probe-arm64'])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a rootless engine, a rootless Docker-in-Docker sidecar among them', async () => {
    const docker = new FakeEngine({ info: { securityOptions: ['name=rootless'], rootless: true } })
    await expect(view(docker).look(new Map())).rejects.toThrow(
      /this Docker engine is rootless.*rootless Docker-in-Docker sidecar/
    )
  })
})

describe('a probe that hangs in the helper', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-probes-'))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  const passes = path.join(dir, 'passes')
  fs.writeFileSync(passes, '#!/bin/sh\nexit 42\n', { mode: 0o755 })

  it("is named in that platform's verdict", async () => {
    const riscv64 = byArch('riscv64')
    const look = [
      'ready',
      'status enabled',
      'boot b',
      'machine x86_64',
      `before ${hex('qemu-riscv64')} ${hex('enabled\ninterpreter /run/setup-qemu/k/qemu-riscv64\nflags: POCF\n')}`,
      'limit 20',
      'probe 137 /run/setup-qemu-probes/probe-riscv64',
      'done'
    ].join('\n')
    const docker = new FakeEngine({ runs: [{ exitCode: 0, stdout: look, stderr: '' }] })
    const through = new EngineTable(view(docker), 'test', false)
    const [v] = await verify(
      [{ platform: riscv64, action: 'add', reason: 'not registered yet' }],
      new Map([['riscv64', passes]]),
      dir,
      [{ change: { op: 'add', name: 'qemu-riscv64', line: '' }, status: 'ok' }],
      undefined,
      through
    )
    expect(v).toMatchObject({ ok: false, how: 'probe in a container', reason: 'timed out: after 20 s in the helper container' })
  })
})

describe('the privilege a helper ran with', () => {
  it('is returned from the run, and the next helper starts with it', async () => {
    const caps = 'docker: Error response from daemon: failed to create task: unable to apply caps: operation not permitted'
    const looked = 'ready\nboot k\nstatus enabled\nmachine x86_64\ndone\n'
    const docker = new FakeEngine({
      runs: [{ exitCode: 125, stdout: '', stderr: caps }, ok(looked), ok(looked)]
    })
    const container = new HelperContainer({ engine: docker, image: 'busybox', privilege: 'auto', limit: 120 })
    expect(container.mode).toBeUndefined()
    expect((await container.run('look', [], [])).mode).toBe('privileged')
    expect((await container.run('look', [], [])).mode).toBe('privileged')
    expect(container.mode).toBe('privileged')
    expect(docker.runCalls.map(c => c.args.includes('--privileged'))).toEqual([false, true, true])
  })
})
