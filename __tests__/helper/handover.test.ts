/**
 * Only the emulators acquire checked reach the helper container: a restored directory may hold other
 * files (metadata, files nobody checked, a huge one), and none of them is bound or sent.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Emulators } from '../../src/acquire/source.js'
import type { HostState } from '../../src/host/inspect.js'
import { RunnerTable } from '../../src/host/table.js'
import type { Inputs } from '../../src/inputs/inputs.js'
import { byArch, type Platform } from '../../src/platform/platforms.js'
import { register } from '../../src/register/apply.js'
import { MAX_EMULATOR_BYTES } from '../../src/helper/handover.js'
import { HelperRegistrar } from '../../src/register/helper.js'
import { decide } from '../../src/register/plan.js'
import { FakeEngine, ok, plainInfo } from '../helpers/engine.js'
import { Registrar, type Change, type ChangeResult, type Mount } from '../../src/register/registrar.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'handover-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let n = 0

/** A directory as a restored cache entry may leave it: one checked emulator, and what else it holds. */
function restored(): { dir: string; work: string } {
  const dir = path.join(root, `restored-${++n}`)
  const work = path.join(root, `work-${n}`)
  fs.mkdirSync(dir)
  fs.mkdirSync(work)
  fs.writeFileSync(path.join(dir, 'qemu-aarch64'), 'checked emulator', { mode: 0o755 })
  fs.writeFileSync(path.join(dir, 'qemu-riscv64'), 'an emulator nobody checked', { mode: 0o755 })
  fs.writeFileSync(path.join(dir, 'setup-qemu.json'), '{}')
  fs.writeFileSync(path.join(dir, 'payload'), 'anything', { mode: 0o755 })
  return { dir, work }
}

/** An engine whose helper answers every change; its runs are recorded with their arguments and stdin. */
const engine = (): FakeEngine => new FakeEngine({ info: plainInfo(), then: ok('ready\nok 1\ndone\n') })
/** A helper that may put what it is shown in `work`. */
const helper = (docker: FakeEngine, work: string): HelperRegistrar =>
  new HelperRegistrar({ engine: docker, image: 'busybox', privilege: 'auto', limit: 120, workDir: work })

const add: Change[] = [{ op: 'add', name: 'qemu-aarch64', line: ':qemu-aarch64:M::\\x7f:\\xff:/run/setup-qemu/k/qemu-aarch64:F' }]
const bindSource = (args: string[]): string => /source=([^,]+)/.exec(args[args.indexOf('--mount') + 1])?.[1] ?? ''

describe('the helper is shown only the emulators acquire checked', () => {
  it('bound: a new directory holding links to them, and nothing else of the one they came from', async () => {
    const { dir, work } = restored()
    const docker = engine()
    const r = helper(docker, work)
    const results = await r.apply(add, [], [{ host: dir, target: '/run/setup-qemu/k', files: ['qemu-aarch64'] }])
    expect(results.map(x => x.status)).toEqual(['ok'])
    const shown = bindSource(docker.runCalls[0].args)
    expect(path.dirname(shown)).toBe(work)
    expect(fs.readdirSync(shown)).toEqual(['qemu-aarch64'])
    expect(fs.statSync(path.join(shown, 'qemu-aarch64')).ino).toBe(fs.statSync(path.join(dir, 'qemu-aarch64')).ino)
    expect(docker.runCalls[0].args.join(' ')).not.toContain(dir)
  })

  it('sent on stdin: a tar stream of them alone', async () => {
    const { dir, work } = restored()
    const docker = engine()
    const r = helper(docker, work)
    await r.apply(add, [], [{ host: dir, target: '/run/setup-qemu/k', send: true, files: ['qemu-aarch64'] }])
    const listing = execFileSync('tar', ['-tf', '-'], { input: docker.runCalls[0].stdin }).toString().trim().split('\n')
    expect(listing).toEqual(['run/setup-qemu/k/qemu-aarch64'])
  })

  it('a directory that names none shows none', async () => {
    const { dir, work } = restored()
    const docker = engine()
    await helper(docker, work).apply(add, [], [{ host: dir, target: '/t' }])
    expect(fs.readdirSync(bindSource(docker.runCalls[0].args))).toEqual([])
  })

  it.each([
    [
      'one larger than any emulator',
      (f: string) => fs.truncateSync(f, MAX_EMULATOR_BYTES + 1),
      /bytes, more than an emulator can be/
    ],
    [
      'a link in its place',
      (f: string) => {
        fs.rmSync(f)
        fs.symlinkSync('/etc/passwd', f)
      },
      /is not a regular file/
    ]
  ])('refuses %s, and runs no helper', async (_, spoil, message) => {
    const { dir, work } = restored()
    spoil(path.join(dir, 'qemu-aarch64'))
    const docker = engine()
    const r = helper(docker, work)
    await expect(r.apply(add, [], [{ host: dir, target: '/t', send: true, files: ['qemu-aarch64'] }])).rejects.toThrow(message)
    expect(docker.runCalls).toEqual([])
  })

  it('one of exactly the limit is shown', async () => {
    const { dir, work } = restored()
    fs.truncateSync(path.join(dir, 'qemu-aarch64'), MAX_EMULATOR_BYTES)
    const docker = engine()
    await helper(docker, work).apply(add, [], [{ host: dir, target: '/t', files: ['qemu-aarch64'] }])
    expect(fs.statSync(path.join(bindSource(docker.runCalls[0].args), 'qemu-aarch64')).size).toBe(MAX_EMULATOR_BYTES)
  })
})

describe('the register stage', () => {
  class Recording extends Registrar {
    readonly kind = 'container'
    readonly method = 'test'
    mounts: readonly Mount[] = []
    expectKernel(): void {}
    interpreterDir(key: string): string {
      return `/run/setup-qemu/${key}`
    }
    protected async write(changes: readonly Change[], mounts: readonly Mount[]): Promise<ChangeResult[]> {
      this.mounts = mounts
      return changes.map(change => ({ change, status: 'ok' }))
    }
  }

  it("names the emulators acquire checked, and only those, as the directory's files", async () => {
    const arm64 = byArch('arm64')
    const s390x = byArch('s390x')
    const emulators: Emulators = {
      dir: '/restored',
      archs: new Set(['arm64', 's390x']),
      key: 'k',
      origin: 'Actions cache',
      from: 'x'
    }
    const interpreter = (p: Platform): string => `/run/setup-qemu/k/qemu-${p.cpu}`
    const host = {
      entries: new Map(),
      native: [byArch('amd64')],
      undecided: new Map(),
      table: new RunnerTable()
    } as unknown as HostState
    const decisions = decide({
      requested: [arm64, s390x],
      native: host.native,
      entries: host.entries,
      before: new Map(),
      reset: false,
      interpreter
    })
    const r = new Recording()
    await register({ decisions, emulators, interpreter }, host, { cleanup: false, reset: false } as Inputs, r)
    expect(r.mounts).toEqual([
      { host: '/restored', target: '/run/setup-qemu/k', send: false, files: ['qemu-aarch64', 'qemu-s390x'] }
    ])
  })
})
