import { afterAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { helperArgs } from '../../src/helper/args.js'
import { parseOutput, probeAll, workLines } from '../../src/helper/protocol.js'
import { plainInfo as info } from '../helpers/engine.js'

const parseAnswers = (stdout: string): ReturnType<typeof parseOutput>['answers'] => parseOutput(stdout).answers
const parseLook = (stdout: string): ReturnType<typeof parseOutput>['look'] => parseOutput(stdout).look
const hex = (s: string): string => Buffer.from(s).toString('hex')

describe("the helper's answers", () => {
  it('are read by position, so a name with spaces or colons is no trouble', () => {
    const a = parseAnswers('ok 1\nfailed 2 sh: write error: Invalid argument\ngone 3\nchanged 4\nnoise\nexists 5')
    expect([...a]).toEqual([
      [0, { status: 'ok' }],
      [1, { status: 'failed', error: 'sh: write error: Invalid argument' }],
      [2, { status: 'gone' }],
      [3, { status: 'changed' }],
      [4, { status: 'exists' }]
    ])
  })
})

describe("the table as the engine's containers see it", () => {
  const arm64 = 'enabled\ninterpreter /run/setup-qemu/k/qemu-aarch64\nflags: POCF\noffset 0\nmagic 7f45\nmask ffff\n'
  const look = [
    'ready',
    'status enabled',
    'boot 0b0c-11',
    'machine x86_64',
    `before ${hex('qemu-aarch64')} ${hex(arm64)}`,
    `before ${hex('odd\nname')} ${hex('disabled\ninterpreter /x\nflags: \n')}`,
    'probe 42 /run/setup-qemu-probes/probe-arm64',
    'probe 126 /run/setup-qemu-probes/probe-s390x',
    `after ${hex('qemu-aarch64')} ${hex(arm64)}`,
    `after ${hex('odd\nname')} ${hex('disabled\ninterpreter /x\nflags: \n')}`
  ].join('\n')

  it('names and texts arrive as hex, so no byte of them is misread', () => {
    const l = parseLook(look)
    expect([...l.entries.keys()]).toEqual(['qemu-aarch64', 'odd\nname'])
    expect(l.entries.get('qemu-aarch64')).toMatchObject({
      enabled: true,
      flags: 'POCF',
      interpreter: '/run/setup-qemu/k/qemu-aarch64'
    })
    expect(l.entries.get('odd\nname')?.enabled).toBe(false)
    expect(l).toMatchObject({ enabled: true, bootId: '0b0c-11', machine: 'x86_64', changed: false })
    expect(l.results.get('arm64')).toEqual({ ok: true })
    expect(l.results.get('s390x')?.ok).toBe(false)
  })

  it('a table that changed while the probes ran is seen as changed', () => {
    expect(parseLook(look.replace(`after ${hex('qemu-aarch64')} ${hex(arm64)}`, '')).changed).toBe(true)
  })
})

describe('the work sent on stdin', () => {
  it('takes no argument with a newline in it, which would split it in two', () => {
    expect(workLines(['write', 'add', 'a'])).toEqual(Buffer.from('write\nadd\na\n'))
    expect(() => workLines(['write', 'a\nb'])).toThrow(/newline/)
  })
})

describe('a probe that hangs in the helper', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-probes-'))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  const probe = (name: string, text: string): string => {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 })
    return path.join(dir, name)
  }
  const hangs = probe('hangs', '#!/bin/sh\nexec sleep 30\n')
  const passes = probe('passes', '#!/bin/sh\nexit 42\n')
  const missing = path.join(dir, 'missing')

  /** Runs the probe loop as a shell runs it, with `timeout` and `true` as PATH has them. */
  const run = (shell: string[], pathDir?: string): { out: string; ms: number } => {
    const started = Date.now()
    const out = execFileSync(shell[0], [...shell.slice(1), '-c', probeAll(1), 'sh', hangs, passes, missing], {
      env: { PATH: pathDir ? `${pathDir}:/usr/bin:/bin` : '/usr/bin:/bin' },
      encoding: 'utf8'
    })
    return { out, ms: Date.now() - started }
  }

  // busybox's own timeout and true, where this machine has busybox: the helper image's
  const busybox = ['/usr/bin/busybox', '/bin/busybox'].find(f => fs.existsSync(f))
  const applets = fs.mkdtempSync(path.join(os.tmpdir(), 'applets-'))
  afterAll(() => fs.rmSync(applets, { recursive: true, force: true }))
  if (busybox) for (const a of ['timeout', 'true', 'sleep']) fs.symlinkSync(busybox, path.join(applets, a))
  const shells: [string, string[], string | undefined][] = [['sh with the system timeout', ['/bin/sh'], undefined]]
  if (busybox) shells.push(['busybox sh with busybox timeout', [busybox, 'sh'], applets])

  it.each(shells)('is killed at its own limit, and said to be, under %s', (_, shell, pathDir) => {
    const { out, ms } = run(shell, pathDir)
    expect(ms).toBeLessThan(10_000)
    const lines = out.trim().split('\n')
    expect(lines[0]).toBe('limit 1')
    expect(lines.slice(1).sort()).toEqual([`probe 127 ${missing}`, `probe 137 ${hangs}`, `probe 42 ${passes}`].sort())
  })

  it('runs without a limit, and says none, where timeout does not take these arguments (an old busybox)', () => {
    const old = fs.mkdtempSync(path.join(os.tmpdir(), 'old-timeout-'))
    try {
      fs.writeFileSync(path.join(old, 'timeout'), '#!/bin/sh\necho "usage: timeout [-t SECS] [-s SIG] PROG ARGS" >&2\nexit 1\n', {
        mode: 0o755
      })
      const started = Date.now()
      const out = execFileSync('/bin/sh', ['-c', probeAll(1), 'sh', passes, missing], {
        env: { PATH: `${old}:/usr/bin:/bin` },
        encoding: 'utf8'
      })
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(out.trim().split('\n').sort()).toEqual([`probe 127 ${missing}`, `probe 42 ${passes}`])
    } finally {
      fs.rmSync(old, { recursive: true, force: true })
    }
  })

  it("is the helper's own loop, with the host's limit", () => {
    const script = helperArgs('busybox', 'n', 'least', info(), []).at(-3) as string
    expect(script).toContain(probeAll(20))
  })

  it('is reported as timed out where the helper had a limit, as killed where it had none', () => {
    const lines = (limit: string[]): string =>
      [...limit, 'probe 137 /run/setup-qemu-probes/probe-riscv64', 'probe 42 /run/setup-qemu-probes/probe-arm64'].join('\n')
    const limited = parseLook(lines(['limit 20']))
    expect(limited.results.get('riscv64')).toEqual({
      ok: false,
      error: 'timed out',
      detail: 'after 20 s in the helper container'
    })
    expect(limited.results.get('arm64')).toEqual({ ok: true })
    expect(parseLook(lines([])).results.get('riscv64')).toEqual({ ok: false, error: 'crashed', detail: 'killed by signal 9' })
  })
})

describe("one reader of the helper's output", () => {
  it('reads what stopped a helper before its work from the line that says so', () => {
    expect(parseOutput('mountfail mount: permission denied\n')).toMatchObject({
      mountFail: 'mount: permission denied',
      answered: false
    })
    const noTar = parseOutput('notar\n')
    expect(noTar).toMatchObject({ noTar: true, noOd: false })
    expect([noTar.mountFail, noTar.untarFail]).toEqual([undefined, undefined])
    expect(parseOutput('untarfail tar: short read\n').untarFail).toBe('tar: short read')
    expect(parseOutput('ready\nboot k\nnood\n')).toMatchObject({ noOd: true, ready: true, booted: true, kernel: 'k' })
    expect(parseOutput('ready\nboot k\notherkernel\n')).toMatchObject({ otherKernel: true, answered: true, answers: new Map() })
  })

  it('takes only an answer or `ready` as proof that the script ran, and a word only as a whole line', () => {
    expect(parseOutput('ok 1\n').answered).toBe(true)
    expect(parseOutput('ready\n').answered).toBe(true)
    expect(parseOutput('boot k\nstatus enabled\n')).toMatchObject({ answered: false, ready: false, booted: true })
    const partial = parseOutput('notar here\n nood\nmountfail\n')
    expect(partial).toMatchObject({ noTar: false, noOd: false })
    expect(partial.mountFail).toBeUndefined()
    expect(parseOutput('boot \n')).toMatchObject({ booted: true, kernel: '' })
  })
})
