import { afterAll, describe, expect, it } from '@jest/globals'
import { CONTAINER_LABEL, RUN_ID } from '../../src/constants.js'
import type { Docker } from '../../src/engine/docker.js'
import type { EngineInfo } from '../../src/engine/engine.js'
import type { RunResult } from '../../src/engine/command.js'
import { TimeoutError } from '../../src/engine/timeout.js'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { byArch } from '../../src/platforms.js'
import { HelperRegistrar, bindMount, helperArgs } from '../../src/helper/container.js'
import { parseAnswers, parseLook, probeAll, workLines } from '../../src/helper/protocol.js'
import type { Change } from '../../src/register/registrar.js'
import { verify } from '../../src/verify/verify.js'

const info = (...securityOptions: string[]): EngineInfo => ({ securityOptions, rootless: false })
const before = (args: string[], image: string): string[] => args.slice(0, args.indexOf(image))

describe('the helper container asks for no more than it needs', () => {
  it.each([
    [
      'least privilege on a plain engine',
      'least',
      info('name=seccomp,profile=builtin'),
      ['--cap-add', 'SYS_ADMIN'],
      ['--privileged', '--security-opt', '--userns']
    ],
    [
      'AppArmor lifted only where the engine has it',
      'least',
      info('name=apparmor'),
      ['--security-opt', 'apparmor=unconfined'],
      ['label=disable', '--privileged']
    ],
    [
      'SELinux labels lifted only where the engine has them',
      'least',
      info('name=selinux'),
      ['--security-opt', 'label=disable'],
      ['apparmor=unconfined']
    ],
    [
      '--privileged only as the fallback',
      'privileged',
      info('name=apparmor'),
      ['--privileged'],
      ['--cap-add', 'apparmor=unconfined']
    ],
    ["the host's user namespace on a user-namespaced engine", 'least', info('name=userns'), ['--userns', 'host'], []]
  ] as const)('%s', (_, mode, engine, present, absent) => {
    const args = before(helperArgs('busybox', 'n', mode, engine, []), 'busybox')
    for (const a of present) expect(args).toContain(a)
    for (const a of absent) expect(args).not.toContain(a)
  })

  it('runs without a network, as root in the container, named and labelled so it can be found and removed', () => {
    const args = helperArgs('busybox', 'setup-qemu-x-1', 'least', info(), [{ host: '/t/e', target: '/run/setup-qemu/k' }])
    expect(args.slice(0, 2)).toEqual(['run', '--rm'])
    expect(args.join(' ')).toContain('--name setup-qemu-x-1 --label ' + `${CONTAINER_LABEL}=${RUN_ID}`)
    expect(args.join(' ')).toContain('--network none --user 0:0')
    expect(args).toContain('type=bind,source=/t/e,target=/run/setup-qemu/k,readonly')
    expect(args.slice(args.indexOf('busybox') - 2, args.indexOf('busybox') + 2)).toEqual(['--entrypoint', 'sh', 'busybox', '-c'])
  })

  it('refuses a path that --mount would split or unquote', () => {
    expect(() => bindMount({ host: '/a,b', target: '/t' })).toThrow(/comma or a quote/)
    expect(() => bindMount({ host: '/a', target: '/t"' })).toThrow(/comma or a quote/)
    expect(bindMount({ host: '/a:b', target: '/t' })).toEqual(['--mount', 'type=bind,source=/a:b,target=/t,readonly'])
  })
})

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

/** An engine that answers `docker run` as told and records every call. */
function engine(answers: Array<RunResult | Error>): { docker: Docker; calls: string[][] } {
  const calls: string[][] = []
  const docker = {
    info: async () => info('name=seccomp,profile=builtin'),
    ensureImage: async () => 'sha256:x',
    call: async (args: readonly string[], _timeout?: number, _input?: Buffer) => {
      calls.push([...args])
      if (args[0] !== 'run') return { exitCode: 0, stdout: '', stderr: '' }
      const next = answers.shift() ?? { exitCode: 0, stdout: '', stderr: '' }
      if (next instanceof Error) throw next
      return next
    }
  } as unknown as Docker
  return { docker, calls }
}
const changes: Change[] = [
  { op: 'remove', name: 'qemu-aarch64' },
  { op: 'add', name: 'qemu-aarch64', line: ':qemu-aarch64:M::\\x7f:\\xff:/run/setup-qemu/k/qemu-aarch64:F' }
]
const runs = (calls: string[][]): string[][] => calls.filter(c => c[0] === 'run')

describe('the end of the work', () => {
  it("is the script's last line, and the answers are handed over there while the container is removed", async () => {
    const script = helperArgs('busybox', 'n', 'least', info(), []).at(-3) as string
    expect(script.trimEnd().split('\n').at(-1)).toBe('echo done')
    const doneWhen: (RegExp | undefined)[] = []
    const docker = {
      info: async () => info(),
      ensureImage: async () => 'sha256:x',
      call: async (args: readonly string[], _timeout?: number, _input?: Buffer, done?: RegExp) => {
        if (args[0] === 'run') doneWhen.push(done)
        return { exitCode: 0, stdout: 'ready\nok 1\nok 2\ndone\n', stderr: '' }
      }
    } as unknown as Docker
    const results = await new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(changes, [])
    expect(results.map(r => r.status)).toEqual(['ok', 'ok'])
    expect(doneWhen).toHaveLength(1)
    expect(doneWhen[0]?.test('ready\nok 1\nok 2\ndone\n')).toBe(true)
    expect(doneWhen[0]?.test('ready\nok 1\n')).toBe(false)
  })
})

describe('what an engine error means', () => {
  it('an exit 125 that is not about privilege is the error, with no retry as --privileged', async () => {
    const bind =
      'docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /opt/x.'
    const { docker, calls } = engine([{ exitCode: 125, stdout: '', stderr: bind }])
    await expect(new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(changes, [])).rejects.toThrow(
      /^the helper container failed \(docker run exit code 125\): docker: Error response from daemon: invalid mount config.*bind source path does not exist/
    )
    expect(runs(calls)).toHaveLength(1)
  })

  it('a refusal of privilege, by what the engine said, falls back to --privileged with auto', async () => {
    const caps = 'docker: Error response from daemon: failed to create task: unable to apply caps: operation not permitted'
    const { docker, calls } = engine([
      { exitCode: 0, stdout: 'mountfail mount: permission denied (are you root?)\n', stderr: '' },
      { exitCode: 125, stdout: '', stderr: caps }
    ])
    const r = new HelperRegistrar(docker, 'busybox', 'auto', 120)
    await expect(r.apply(changes, [])).rejects.toThrow(
      /refused the helper container the privilege.*--cap-add SYS_ADMIN: mounting binfmt_misc failed.*--privileged: .*unable to apply caps/
    )
    expect(runs(calls).map(c => c.includes('--privileged'))).toEqual([false, true])
  })

  it('a helper killed part-way reports what it did, and never runs again', async () => {
    const { docker, calls } = engine([{ exitCode: 137, stdout: 'ok 1\n', stderr: '' }])
    const results = await new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(changes, [])
    expect(results.map(r => r.status)).toEqual(['ok', 'failed'])
    expect(results[1].error).toBe('the helper stopped before this change (exit code 137)')
    expect(runs(calls)).toHaveLength(1)
  })

  it('a helper past its time limit is stopped and removed', async () => {
    const { docker, calls } = engine([
      new TimeoutError('the Docker engine did not answer: `docker run` did not finish within 120s.')
    ])
    await expect(new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(changes, [])).rejects.toThrow(
      /did not finish within 120s\. The helper container setup-qemu-.* was stopped and removed/
    )
    const name = runs(calls)[0][runs(calls)[0].indexOf('--name') + 1]
    expect(calls.at(-1)).toEqual(['rm', '--force', '--volumes', name])
  })

  it('an image without mount, or without a shell, is named', async () => {
    const noMount = engine([{ exitCode: 3, stdout: 'mountfail sh: mount: not found\n', stderr: '' }])
    await expect(new HelperRegistrar(noMount.docker, 'scratchy', 'auto', 120).apply(changes, [])).rejects.toThrow(
      /the helper image scratchy cannot mount binfmt_misc/
    )
    const noShell = engine([{ exitCode: 127, stdout: '', stderr: 'exec: "sh": executable file not found in $PATH' }])
    await expect(new HelperRegistrar(noShell.docker, 'scratchy', 'auto', 120).apply(changes, [])).rejects.toThrow(
      /has no POSIX shell/
    )
  })
})

describe('getting ready', () => {
  it("reports the engine's own trouble, not the pull's, whichever fails first", async () => {
    const docker = {
      info: () => new Promise((_, reject) => setTimeout(() => reject(new Error('the Docker daemon is not reachable')), 50)),
      ensureImage: () => Promise.reject(new Error('pulling busybox failed: Cannot connect to the Docker daemon'))
    } as unknown as Docker
    await expect(new HelperRegistrar(docker, 'busybox', 'auto', 120).prepare()).rejects.toThrow(
      /^the Docker daemon is not reachable$/
    )
  })
})

const hex = (s: string): string => Buffer.from(s).toString('hex')

describe('files sent on stdin, for an engine that cannot see the runner', () => {
  it('the helper reads its stdin and binds only what is not sent', () => {
    const args = helperArgs(
      'busybox',
      'n',
      'least',
      info(),
      [
        { host: '/runner/temp/e', target: '/run/setup-qemu/k', send: true },
        { host: '/usr/bin/qemu-arm-static', target: '/usr/bin/qemu-arm-static' }
      ],
      'files'
    )
    expect(args).toContain('--interactive')
    expect(args.join(' ')).not.toContain('/runner/temp/e')
    expect(args).toContain('type=bind,source=/usr/bin/qemu-arm-static,target=/usr/bin/qemu-arm-static,readonly')
    expect(args.at(-1)).toBe('stream')
  })

  it('the emulators go in as a tar stream, extracted where entries point', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      fs.writeFileSync(path.join(dir, 'qemu-aarch64'), 'emulator', { mode: 0o755 })
      const inputs: (Buffer | Promise<Buffer> | undefined)[] = []
      const { docker } = engine([{ exitCode: 0, stdout: 'ready\nremove 1\nok 1\nok 2\n', stderr: '' }])
      const call = docker.call.bind(docker)
      docker.call = async (args, timeout, input) => {
        inputs.push(input)
        return call(args, timeout, input)
      }
      const results = await new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(
        changes,
        [],
        [{ host: dir, target: '/run/setup-qemu/k', send: true, files: ['qemu-aarch64'] }]
      )
      expect(results.map(r => r.status)).toEqual(['ok', 'ok'])
      const out = path.join(dir, 'out')
      fs.mkdirSync(out)
      execFileSync('tar', ['-xf', '-', '-C', out], { input: inputs.find(i => i !== undefined) as Buffer })
      expect(fs.readFileSync(path.join(out, 'run/setup-qemu/k/qemu-aarch64'), 'utf8')).toBe('emulator')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a helper image without tar is named', async () => {
    const { docker } = engine([{ exitCode: 4, stdout: 'notar\n', stderr: '' }])
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      const r = new HelperRegistrar(docker, 'registry.example/no-tar:1', 'auto', 120)
      await expect(r.apply(changes, [], [{ host: empty, target: '/t', send: true }])).rejects.toThrow(
        /^the helper image registry.example\/no-tar:1 has no tar to receive the emulators/
      )
    } finally {
      fs.rmSync(empty, { recursive: true, force: true })
    }
  })
})

describe('the engine that goes away', () => {
  it('says so and what to do, not that the helper failed', async () => {
    const { docker } = engine([
      { exitCode: 1, stdout: '', stderr: 'error during connect: Post "http://127.0.0.1:2375/v1.41/containers/create": EOF' }
    ])
    await expect(new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(changes, [])).rejects.toThrow(
      /^the Docker engine went away during this step .*none is left half-made; check the engine/
    )
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

  it('probes go in on stdin, and their paths are arguments', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      fs.writeFileSync(path.join(dir, 'probe-arm64'), 'probe', { mode: 0o755 })
      const { docker, calls } = engine([{ exitCode: 0, stdout: look, stderr: '' }])
      const l = await new HelperRegistrar(docker, 'busybox', 'auto', 120).look(
        new Map([['arm64', path.join(dir, 'probe-arm64')]])
      )
      expect(l.machine).toBe('x86_64')
      const run = runs(calls)[0]
      expect(run.slice(-4)).toEqual(['stream', 'look', '', '/run/setup-qemu-probes/probe-arm64'])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('an engine that cannot register names its case', () => {
  const caps = 'docker: Error response from daemon: failed to create task: unable to apply caps: operation not permitted'
  it('a user-namespaced engine that refuses the host namespace', async () => {
    const { docker } = engine([
      { exitCode: 0, stdout: 'mountfail mount: permission denied\n', stderr: '' },
      { exitCode: 125, stdout: '', stderr: caps }
    ])
    docker.info = async () => info('name=userns')
    await expect(new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(changes, [])).rejects.toThrow(
      /maps users into a user namespace \(userns-remap\).*--userns host/
    )
  })
  it('an engine that refuses both SYS_ADMIN and --privileged', async () => {
    const { docker } = engine([
      { exitCode: 0, stdout: 'mountfail mount: permission denied\n', stderr: '' },
      { exitCode: 125, stdout: '', stderr: caps }
    ])
    await expect(new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(changes, [])).rejects.toThrow(
      /refuses both --privileged and SYS_ADMIN.*rootful Docker engine/
    )
  })
  it('a rootless engine, a rootless Docker-in-Docker sidecar among them', async () => {
    const { docker } = engine([])
    docker.info = async () => ({ securityOptions: ['name=rootless'], rootless: true })
    await expect(new HelperRegistrar(docker, 'busybox', 'auto', 120).look(new Map())).rejects.toThrow(
      /this Docker engine is rootless.*rootless Docker-in-Docker sidecar/
    )
  })
})

describe('an engine that cannot see the runner after all', () => {
  it('gets the files on stdin when it says a bind source does not exist', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-test-'))
    try {
      fs.writeFileSync(path.join(dir, 'qemu-aarch64'), 'emulator', { mode: 0o755 })
      const bind =
        'docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ' + dir
      const { docker, calls } = engine([
        { exitCode: 125, stdout: '', stderr: bind },
        { exitCode: 0, stdout: 'ready\nok 1\nok 2\n', stderr: '' }
      ])
      const results = await new HelperRegistrar(docker, 'busybox', 'auto', 120).apply(
        changes,
        [],
        [{ host: dir, target: '/run/setup-qemu/k', files: ['qemu-aarch64'] }]
      )
      expect(results.map(r => r.status)).toEqual(['ok', 'ok'])
      const [first, second] = runs(calls)
      expect(first.join(' ')).toMatch(/type=bind,source=[^,]*\/shown-[^,]*,target=\/run\/setup-qemu\/k/)
      expect(second.join(' ')).not.toContain('type=bind')
      expect(second).toContain('--interactive')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a helper started while the emulators are fetched', () => {
  const KEY = 'c'.repeat(64)
  const ANSWER: RunResult = { exitCode: 0, stdout: 'ready\nok 1\nok 2\n', stderr: '' }

  /** An engine whose containers read all of their stdin before they answer, as the script does. */
  function reading(answers: RunResult[]): { docker: Docker; runs: { args: string[]; stdin: string }[] } {
    const runs: { args: string[]; stdin: string }[] = []
    const docker = {
      info: async () => info('name=seccomp,profile=builtin'),
      ensureImage: async () => 'sha256:x',
      call: async (args: readonly string[], _timeout?: number, input?: Buffer | Promise<Buffer>) => {
        if (args[0] !== 'run') return { exitCode: 0, stdout: '', stderr: '' }
        const run = { args: [...args], stdin: '' }
        runs.push(run)
        run.stdin = (await input)?.toString() ?? ''
        return answers.shift() ?? ANSWER
      }
    } as unknown as Docker
    return { docker, runs }
  }

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
      const { docker, runs } = reading([])
      const r = new HelperRegistrar(docker, 'busybox', 'auto', 120, undefined, work)
      await r.prepare(KEY)
      const target = r.interpreterDir(KEY)
      const results = await r.apply(changes, [], [{ host: emulators, target, files: ['qemu-aarch64'] }])
      expect(results.map(x => x.status)).toEqual(['ok', 'ok'])
      expect(runs).toHaveLength(1)
      expect(runs[0].args.at(-1)).toBe('wait')
      expect(runs[0].args).toContain('--interactive')
      expect(runs[0].stdin).toBe(
        ['write', '', ...changes.flatMap(c => (c.op === 'remove' ? ['remove', c.name, ''] : ['add', c.name, c.line]))]
          .map(a => `${a}\n`)
          .join('')
      )
      // its own directory, in the work directory, holding the emulators and nothing else
      const bind = runs[0].args[runs[0].args.indexOf('--mount') + 1]
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
      const { docker, runs } = reading([])
      const r = new HelperRegistrar(docker, 'busybox', 'auto', 120, undefined, work)
      await r.prepare(KEY)
      const results = await r.apply(changes, [], [{ host: emulators, target: r.interpreterDir('d'.repeat(64)) }])
      expect(results.map(x => x.status)).toEqual(['ok', 'ok'])
      const early = runs.filter(x => x.args.at(-1) === 'wait')
      expect(early).toHaveLength(1)
      expect(early[0].stdin).toBe('')
      expect(runs.filter(x => x.args.at(-1) !== 'wait')).toHaveLength(1)
    } finally {
      done()
    }
  })

  it('is told there is no work when nothing is to be written', async () => {
    const { work, done } = setUp()
    try {
      const { docker, runs } = reading([])
      const r = new HelperRegistrar(docker, 'busybox', 'auto', 120, undefined, work)
      await r.prepare(KEY)
      await r.release()
      expect(runs).toHaveLength(1)
      expect(runs[0].stdin).toBe('')
    } finally {
      done()
    }
  })

  it('refused least privilege, is followed by --privileged, not by least privilege again', async () => {
    const { emulators, work, done } = setUp()
    try {
      const refused = { exitCode: 126, stdout: '', stderr: 'docker: Error response from daemon: operation not permitted.' }
      const { docker, runs } = reading([refused])
      const r = new HelperRegistrar(docker, 'busybox', 'auto', 120, undefined, work)
      await r.prepare(KEY)
      const results = await r.apply(changes, [], [{ host: emulators, target: r.interpreterDir(KEY) }])
      expect(results.map(x => x.status)).toEqual(['ok', 'ok'])
      expect(runs.map(x => x.args.includes('--privileged'))).toEqual([false, true])
      expect(r.mode).toBe('privileged')
    } finally {
      done()
    }
  })

  it('that never ran its script leaves the work to a helper that says why', async () => {
    const { emulators, work, done } = setUp()
    try {
      const noShell = { exitCode: 127, stdout: '', stderr: 'exec: "sh": executable file not found in $PATH' }
      const { docker, runs } = reading([noShell, noShell])
      const r = new HelperRegistrar(docker, 'scratchy', 'auto', 120, undefined, work)
      await r.prepare(KEY)
      await expect(r.apply(changes, [], [{ host: emulators, target: r.interpreterDir(KEY) }])).rejects.toThrow(/no POSIX shell/)
      expect(runs).toHaveLength(2)
    } finally {
      done()
    }
  })

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
    const { docker } = engine([{ exitCode: 0, stdout: look, stderr: '' }])
    const view = new HelperRegistrar(docker, 'busybox', 'auto', 120)
    const through = { view, why: 'test', sameKernel: false }
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
