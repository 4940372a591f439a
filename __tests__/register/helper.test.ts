import { describe, expect, it } from '@jest/globals'
import { CONTAINER_LABEL, RUN_ID } from '../../src/constants.js'
import type { Docker, EngineInfo } from '../../src/engine/docker.js'
import type { RunResult } from '../../src/engine/command.js'
import { TimeoutError } from '../../src/engine/timeout.js'
import { HelperRegistrar, bindMount, helperArgs, parseAnswers } from '../../src/register/helper.js'
import type { Change } from '../../src/register/registrar.js'

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
    call: async (args: readonly string[]) => {
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
