/**
 * A helper started while the emulators are fetched: it gets its work on stdin when the work fits, and
 * is told there is none otherwise.
 */
import { describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { RunResult } from '../../src/exec/command.js'
import type { Engine } from '../../src/engine/engine.js'
import { HelperRegistrar } from '../../src/register/helper.js'
import type { Change } from '../../src/register/registrar.js'
import { FakeEngine } from '../helpers/engine.js'

const helper = (engine: Engine, workDir: string, image = 'busybox'): HelperRegistrar =>
  new HelperRegistrar({ engine, image, privilege: 'auto', limit: 120, workDir })
const changes: Change[] = [
  { op: 'remove', name: 'qemu-aarch64' },
  { op: 'add', name: 'qemu-aarch64', line: ':qemu-aarch64:M::\\x7f:\\xff:/run/setup-qemu/k/qemu-aarch64:F' }
]

describe('a helper started while the emulators are fetched', () => {
  const KEY = 'c'.repeat(64)
  const ANSWER: RunResult = { exitCode: 0, stdout: 'ready\nok 1\nok 2\n', stderr: '' }

  /** An engine whose containers read all of their stdin before they answer, as the script does. */
  const reading = (answers: RunResult[]): FakeEngine => new FakeEngine({ runs: answers, then: ANSWER })
  /** Its runs, each with what it read on stdin. */
  const ran = (docker: FakeEngine): { args: string[]; stdin: string }[] =>
    docker.runCalls.map(c => ({ args: c.args, stdin: c.stdin?.toString() ?? '' }))

  function setUp(): { emulators: string; work: string; done: () => void } {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'early-helper-'))
    const emulators = path.join(root, 'emulators')
    const work = path.join(root, 'work')
    fs.mkdirSync(emulators)
    fs.mkdirSync(work)
    fs.writeFileSync(path.join(emulators, 'qemu-aarch64'), 'emulator', { mode: 0o755 })
    fs.writeFileSync(path.join(emulators, 'setup-qemu.json'), '{}')
    return { emulators, work, done: () => fs.rmSync(root, { recursive: true, force: true }) }
  }

  it('gets its work on stdin, one argument a line, with the emulators linked into the directory it shows', async () => {
    const { emulators, work, done } = setUp()
    try {
      const docker = reading([])
      const r = helper(docker, work)
      await r.prepare(KEY)
      const target = r.interpreterDir(KEY)
      const results = await r.apply(changes, [], [{ host: emulators, target, files: ['qemu-aarch64'] }])
      expect(results.map(x => x.status)).toEqual(['ok', 'ok'])
      expect(ran(docker)).toHaveLength(1)
      expect(ran(docker)[0].args.at(-1)).toBe('wait')
      expect(ran(docker)[0].args).toContain('--interactive')
      expect(ran(docker)[0].stdin).toBe(
        ['write', '', ...changes.flatMap(c => (c.op === 'remove' ? ['remove', c.name, ''] : ['add', c.name, c.line]))]
          .map(a => `${a}\n`)
          .join('')
      )
      // its own directory, in the work directory, holding the emulators and nothing else
      const bind = ran(docker)[0].args[ran(docker)[0].args.indexOf('--mount') + 1]
      const inbox = /source=([^,]+)/.exec(bind)?.[1] ?? ''
      expect(bind).toContain(`target=${target},readonly`)
      expect(path.dirname(inbox)).toBe(work)
      expect(fs.readdirSync(inbox)).toEqual(['qemu-aarch64'])
      expect(fs.statSync(path.join(inbox, 'qemu-aarch64')).ino).toBe(fs.statSync(path.join(emulators, 'qemu-aarch64')).ino)
    } finally {
      done()
    }
  })

  it('is told there is no work when the emulators are not the ones it was started for, and a helper runs as before', async () => {
    const { emulators, work, done } = setUp()
    try {
      const docker = reading([])
      const r = helper(docker, work)
      await r.prepare(KEY)
      const results = await r.apply(changes, [], [{ host: emulators, target: r.interpreterDir('d'.repeat(64)) }])
      expect(results.map(x => x.status)).toEqual(['ok', 'ok'])
      const early = ran(docker).filter(x => x.args.at(-1) === 'wait')
      expect(early).toHaveLength(1)
      expect(early[0].stdin).toBe('')
      expect(ran(docker).filter(x => x.args.at(-1) !== 'wait')).toHaveLength(1)
    } finally {
      done()
    }
  })

  it('is told there is no work when nothing is to be written', async () => {
    const { work, done } = setUp()
    try {
      const docker = reading([])
      const r = helper(docker, work)
      await r.prepare(KEY)
      await r.release()
      expect(ran(docker)).toHaveLength(1)
      expect(ran(docker)[0].stdin).toBe('')
    } finally {
      done()
    }
  })

  it('refused least privilege, is followed by --privileged, not by least privilege again', async () => {
    const { emulators, work, done } = setUp()
    try {
      const refused = { exitCode: 126, stdout: '', stderr: 'docker: Error response from daemon: operation not permitted.' }
      const docker = reading([refused])
      const r = helper(docker, work)
      await r.prepare(KEY)
      const results = await r.apply(changes, [], [{ host: emulators, target: r.interpreterDir(KEY) }])
      expect(results.map(x => x.status)).toEqual(['ok', 'ok'])
      expect(ran(docker).map(x => x.args.includes('--privileged'))).toEqual([false, true])
      expect(r.mode).toBe('privileged')
    } finally {
      done()
    }
  })

  it('that never ran its script leaves the work to a helper that says why', async () => {
    const { emulators, work, done } = setUp()
    try {
      const noShell = { exitCode: 127, stdout: '', stderr: 'exec: "sh": executable file not found in $PATH' }
      const docker = reading([noShell, noShell])
      const r = helper(docker, work, 'scratchy')
      await r.prepare(KEY)
      await expect(r.apply(changes, [], [{ host: emulators, target: r.interpreterDir(KEY) }])).rejects.toThrow(/no POSIX shell/)
      expect(ran(docker)).toHaveLength(2)
    } finally {
      done()
    }
  })
})
