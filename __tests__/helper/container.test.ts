/**
 * The helper container: the privilege it falls back to, and what each failure says, driven through
 * the registrar that writes with it.
 */
import { describe, expect, it } from '@jest/globals'
import { TimeoutError } from '../../src/exec/timeout.js'
import type { Engine } from '../../src/engine/engine.js'
import type { Change } from '../../src/register/registrar.js'
import { HelperRegistrar } from '../../src/register/helper.js'
import { helperArgs } from '../../src/helper/args.js'
import { FakeEngine, ok, plainInfo as info } from '../helpers/engine.js'

const helper = (engine: Engine, image = 'busybox'): HelperRegistrar =>
  new HelperRegistrar({ engine, image, privilege: 'auto', limit: 120 })
const changes: Change[] = [
  { op: 'remove', name: 'qemu-aarch64' },
  { op: 'add', name: 'qemu-aarch64', line: ':qemu-aarch64:M::\\x7f:\\xff:/run/setup-qemu/k/qemu-aarch64:F' }
]

describe('the end of the work', () => {
  it("is the script's last line, and the answers are handed over there while the container is removed", async () => {
    const script = helperArgs('busybox', 'n', 'least', info(), []).at(-3) as string
    expect(script.trimEnd().split('\n').at(-1)).toBe('echo done')
    const docker = new FakeEngine({ info: info(), then: ok('ready\nok 1\nok 2\ndone\n') })
    const results = await helper(docker).apply(changes, [])
    expect(results.map(r => r.status)).toEqual(['ok', 'ok'])
    const doneWhen = docker.runCalls.map(c => c.doneWhen)
    expect(doneWhen).toHaveLength(1)
    expect(doneWhen[0]?.test('ready\nok 1\nok 2\ndone\n')).toBe(true)
    expect(doneWhen[0]?.test('ready\nok 1\n')).toBe(false)
  })
})

describe('what an engine error means', () => {
  it('an exit 125 that is not about privilege is the error, with no retry as --privileged', async () => {
    const bind =
      'docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /opt/x.'
    const docker = new FakeEngine({ runs: [{ exitCode: 125, stdout: '', stderr: bind }] })
    await expect(helper(docker).apply(changes, [])).rejects.toThrow(
      /^the helper container failed \(docker run exit code 125\): docker: Error response from daemon: invalid mount config.*bind source path does not exist/
    )
    expect(docker.runCalls).toHaveLength(1)
  })

  it('a refusal of privilege, by what the engine said, falls back to --privileged with auto', async () => {
    const caps = 'docker: Error response from daemon: failed to create task: unable to apply caps: operation not permitted'
    const docker = new FakeEngine({
      runs: [
        { exitCode: 0, stdout: 'mountfail mount: permission denied (are you root?)\n', stderr: '' },
        { exitCode: 125, stdout: '', stderr: caps }
      ]
    })
    const r = helper(docker)
    await expect(r.apply(changes, [])).rejects.toThrow(
      /refused the helper container the privilege.*--cap-add SYS_ADMIN: mounting binfmt_misc failed.*--privileged: .*unable to apply caps/
    )
    expect(docker.runCalls.map(c => c.args.includes('--privileged'))).toEqual([false, true])
  })

  it('a helper past its time limit is stopped and removed', async () => {
    const docker = new FakeEngine({
      runs: [new TimeoutError('the Docker engine did not answer: `docker run` did not finish within 120s.')]
    })
    await expect(helper(docker).apply(changes, [])).rejects.toThrow(
      /did not finish within 120s\. The helper container setup-qemu-.* was stopped and removed/
    )
    const run = docker.runCalls[0].args
    const name = run[run.indexOf('--name') + 1]
    expect(docker.calls.at(-1)?.args).toEqual(['rm', '--force', '--volumes', name])
  })

  it('an image without mount, or without a shell, is named', async () => {
    const noMount = new FakeEngine({ runs: [{ exitCode: 3, stdout: 'mountfail sh: mount: not found\n', stderr: '' }] })
    await expect(helper(noMount, 'scratchy').apply(changes, [])).rejects.toThrow(
      /the helper image scratchy cannot mount binfmt_misc/
    )
    const noShell = new FakeEngine({
      runs: [{ exitCode: 127, stdout: '', stderr: 'exec: "sh": executable file not found in $PATH' }]
    })
    await expect(helper(noShell, 'scratchy').apply(changes, [])).rejects.toThrow(/has no POSIX shell/)
  })
})

describe('getting ready', () => {
  it("reports the engine's own trouble, not the pull's, whichever fails first", async () => {
    const docker = new FakeEngine({
      info: () => new Promise((_, reject) => setTimeout(() => reject(new Error('the Docker daemon is not reachable')), 50)),
      ensureImage: () => Promise.reject(new Error('pulling busybox failed: Cannot connect to the Docker daemon'))
    })
    await expect(helper(docker).prepare()).rejects.toThrow(/^the Docker daemon is not reachable$/)
  })
})

describe('the engine that goes away', () => {
  it('says so and what to do, not that the helper failed', async () => {
    const docker = new FakeEngine({
      runs: [
        { exitCode: 1, stdout: '', stderr: 'error during connect: Post "http://127.0.0.1:2375/v1.41/containers/create": EOF' }
      ]
    })
    await expect(helper(docker).apply(changes, [])).rejects.toThrow(
      /^the Docker engine went away during this step .*none is left half-made; check the engine/
    )
  })
})

describe('an engine that cannot register names its case', () => {
  const caps = 'docker: Error response from daemon: failed to create task: unable to apply caps: operation not permitted'
  it('a user-namespaced engine that refuses the host namespace', async () => {
    const docker = new FakeEngine({
      info: info('name=userns'),
      runs: [
        { exitCode: 0, stdout: 'mountfail mount: permission denied\n', stderr: '' },
        { exitCode: 125, stdout: '', stderr: caps }
      ]
    })
    await expect(helper(docker).apply(changes, [])).rejects.toThrow(
      /maps users into a user namespace \(userns-remap\).*--userns host/
    )
  })
  it('an engine that refuses both SYS_ADMIN and --privileged', async () => {
    const docker = new FakeEngine({
      runs: [
        { exitCode: 0, stdout: 'mountfail mount: permission denied\n', stderr: '' },
        { exitCode: 125, stdout: '', stderr: caps }
      ]
    })
    await expect(helper(docker).apply(changes, [])).rejects.toThrow(
      /refuses both --privileged and SYS_ADMIN.*rootful Docker engine/
    )
  })
})
