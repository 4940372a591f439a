/**
 * Registering through a helper: each change answered by position, the files it needs bound or sent on
 * its stdin, and sent when the engine turns out not to see this runner's.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Engine } from '../../src/engine/engine.js'
import { HelperRegistrar } from '../../src/register/helper.js'
import type { Change } from '../../src/register/registrar.js'
import { FakeEngine } from '../helpers/engine.js'

const helper = (engine: Engine, image = 'busybox'): HelperRegistrar =>
  new HelperRegistrar({ engine, image, privilege: 'auto', limit: 120 })
const changes: Change[] = [
  { op: 'remove', name: 'qemu-aarch64' },
  { op: 'add', name: 'qemu-aarch64', line: ':qemu-aarch64:M::\\x7f:\\xff:/run/setup-qemu/k/qemu-aarch64:F' }
]

describe('changes written through a helper', () => {
  it('a helper killed part-way reports what it did, and never runs again', async () => {
    const docker = new FakeEngine({ runs: [{ exitCode: 137, stdout: 'ok 1\n', stderr: '' }] })
    const results = await helper(docker).apply(changes, [])
    expect(results.map(r => r.status)).toEqual(['ok', 'failed'])
    expect(results[1].error).toBe('the helper stopped before this change (exit code 137)')
    expect(docker.runCalls).toHaveLength(1)
  })
})

describe('files sent on stdin, for an engine that cannot see the runner', () => {
  it('the emulators go in as a tar stream, extracted where entries point', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      fs.writeFileSync(path.join(dir, 'qemu-aarch64'), 'emulator', { mode: 0o755 })
      const docker = new FakeEngine({ runs: [{ exitCode: 0, stdout: 'ready\nremove 1\nok 1\nok 2\n', stderr: '' }] })
      const results = await helper(docker).apply(
        changes,
        [],
        [{ host: dir, target: '/run/setup-qemu/k', send: true, files: ['qemu-aarch64'] }]
      )
      expect(results.map(r => r.status)).toEqual(['ok', 'ok'])
      const out = path.join(dir, 'out')
      fs.mkdirSync(out)
      execFileSync('tar', ['-xf', '-', '-C', out], { input: docker.calls.map(c => c.stdin).find(i => i !== undefined) as Buffer })
      expect(fs.readFileSync(path.join(out, 'run/setup-qemu/k/qemu-aarch64'), 'utf8')).toBe('emulator')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a helper image without tar is named', async () => {
    const docker = new FakeEngine({ runs: [{ exitCode: 4, stdout: 'notar\n', stderr: '' }] })
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      const r = helper(docker, 'registry.example/no-tar:1')
      await expect(r.apply(changes, [], [{ host: empty, target: '/t', send: true }])).rejects.toThrow(
        /^the helper image registry.example\/no-tar:1 has no tar to receive the emulators/
      )
    } finally {
      fs.rmSync(empty, { recursive: true, force: true })
    }
  })
})

describe('an engine that cannot see the runner after all', () => {
  it('gets the files on stdin when it says a bind source does not exist', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      fs.writeFileSync(path.join(dir, 'qemu-aarch64'), 'emulator', { mode: 0o755 })
      const bind =
        'docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ' + dir
      const docker = new FakeEngine({
        runs: [
          { exitCode: 125, stdout: '', stderr: bind },
          { exitCode: 0, stdout: 'ready\nok 1\nok 2\n', stderr: '' }
        ]
      })
      const results = await helper(docker).apply(
        changes,
        [],
        [{ host: dir, target: '/run/setup-qemu/k', files: ['qemu-aarch64'] }]
      )
      expect(results.map(r => r.status)).toEqual(['ok', 'ok'])
      const [first, second] = docker.runCalls.map(c => c.args)
      expect(first.join(' ')).toMatch(/type=bind,source=[^,]*\/shown-[^,]*,target=\/run\/setup-qemu\/k/)
      expect(second.join(' ')).not.toContain('type=bind')
      expect(second).toContain('--interactive')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
