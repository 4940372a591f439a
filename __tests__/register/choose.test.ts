import { describe, expect, it } from '@jest/globals'
import {
  choiceLine,
  choose,
  runnerFacts,
  throughEngine,
  unfitForEntries,
  type Choice,
  type RunnerFacts
} from '../../src/register/choose.js'

/** A GitHub-hosted runner: an unprivileged user with passwordless sudo, the engine on the local socket. */
const hosted: RunnerFacts = { root: false, sudo: true, ownUserNamespace: false, dockerCli: true }
const refuses = { why: 'sudo: a password is required' }

describe('where binfmt_misc is written from', () => {
  it.each<[string, 'auto' | 'runner' | 'container', RunnerFacts, Partial<Choice>, string]>([
    ['root', 'auto', { ...hosted, root: true, sudo: { why: 'not asked' } }, { kind: 'runner', sudo: false }, 'root'],
    ['passwordless sudo', 'auto', hosted, { kind: 'runner', sudo: true }, 'passwordless sudo'],
    [
      'no engine and no CLI at all, with sudo',
      'auto',
      { ...hosted, dockerCli: false },
      { kind: 'runner', sudo: true },
      'passwordless sudo'
    ],
    [
      'sudo that asks for a password',
      'auto',
      { ...hosted, sudo: refuses },
      { kind: 'container' },
      'not root, and no passwordless sudo (sudo: a password is required)'
    ],
    [
      'no sudo at all',
      'auto',
      { ...hosted, sudo: { why: 'there is no sudo on PATH' } },
      { kind: 'container' },
      'not root, and no passwordless sudo (there is no sudo on PATH)'
    ],
    [
      'a remote engine, even as root',
      'auto',
      { ...hosted, root: true, elsewhere: 'DOCKER_HOST is tcp://builder:2376' },
      { kind: 'container' },
      'the engine may be on another machine (DOCKER_HOST is tcp://builder:2376)'
    ],
    [
      'a user namespace of its own, beside an engine',
      'auto',
      { ...hosted, root: true, ownUserNamespace: true },
      { kind: 'container' },
      "this runner is in a user namespace of its own, whose binfmt_misc the engine's containers may not use"
    ],
    [
      'a user namespace of its own, with no engine: its own table is the one its programs use',
      'auto',
      { ...hosted, root: true, ownUserNamespace: true, dockerCli: false },
      { kind: 'runner' },
      'root'
    ],
    [
      'runner forced, as root',
      'runner',
      { ...hosted, root: true },
      { kind: 'runner', forced: true },
      'root (register-from: runner)'
    ],
    [
      'container forced, where the runner could',
      'container',
      { ...hosted, root: true },
      { kind: 'container', forced: true },
      'register-from: container'
    ]
  ])('%s', (_, from, facts, expected, why) => {
    const c = choose(from, facts)
    expect(c).toMatchObject({ ...expected, why })
  })

  it.each<[string, RunnerFacts, RegExp]>([
    [
      'without sudo',
      { ...hosted, sudo: refuses },
      /without passwordless sudo \(sudo: a password is required\); run the job as root/
    ],
    [
      'with a remote engine',
      { ...hosted, elsewhere: 'DOCKER_HOST is ssh://builder' },
      /another machine \(DOCKER_HOST is ssh:\/\/builder\).*unset DOCKER_HOST/
    ],
    ['in a user namespace of its own', { ...hosted, ownUserNamespace: true }, /user namespace of its own/]
  ])('a forced runner that cannot work stops before anything changes, saying why and what to do: %s', (_, facts, why) => {
    expect(() => choose('runner', facts)).toThrow(/^register-from: runner cannot work here: use register-from: auto/)
    expect(() => choose('runner', facts)).toThrow(why)
  })

  it('a container job (the runner cannot mount binfmt_misc) goes through the engine, unless the runner was forced', () => {
    const why = 'this runner does not see binfmt_misc and cannot mount it (mount: permission denied)'
    expect(throughEngine(choose('auto', { ...hosted, root: true }), why)).toEqual({
      kind: 'container',
      why,
      sudo: false,
      forced: false
    })
    expect(() => throughEngine(choose('runner', { ...hosted, root: true }), why)).toThrow(
      /^register-from: runner cannot work here: .*\. This runner does not see binfmt_misc and cannot mount it \(mount: permission denied\); mount it before this step/
    )
    const helper = choose('container', hosted)
    expect(throughEngine(helper, why)).toBe(helper)
  })

  it('says its choice in one line', () => {
    expect(choiceLine(choose('auto', { ...hosted, root: true }))).toBe('registering from the runner itself: root')
    expect(choiceLine(choose('auto', hosted))).toBe('registering from the runner itself: passwordless sudo')
    expect(choiceLine(choose('auto', { ...hosted, sudo: refuses }))).toBe(
      'registering through a helper container: not root, and no passwordless sudo (sudo: a password is required)'
    )
  })
})

describe('the facts of this runner', () => {
  it('asks nothing for a helper chosen by the input, nor sudo where the engine is elsewhere', async () => {
    const elsewhere = await runnerFacts('auto', '/tmp/s', { DOCKER_HOST: 'tcp://127.0.0.1:1' })
    expect(elsewhere.elsewhere).toBe('DOCKER_HOST is tcp://127.0.0.1:1')
    expect(elsewhere.sudo).toEqual({ why: 'not asked' })
    expect((await runnerFacts('container', '/tmp/s', {})).sudo).toEqual({ why: 'not asked' })
  })

  it('knows whether it is root, as this machine says', async () => {
    const f = await runnerFacts('auto', '/tmp/s', { DOCKER_CONFIG: '/nonexistent' })
    expect(f.root).toBe(process.getuid?.() === 0)
    expect(f.elsewhere).toBeUndefined()
    expect(f.scratch).toBeUndefined()
    expect((await runnerFacts('auto', '/my temp/s', { DOCKER_CONFIG: '/nonexistent' })).scratch).toMatch(/has a space/)
  })
})

describe("this run's scratch directory, where the runner's entries name the emulators", () => {
  it('fits where its path can be part of an interpreter path', () => {
    expect(unfitForEntries('/home/runner/work/_temp/setup-qemu-AbC123')).toBeUndefined()
    expect(unfitForEntries('/opt/my runner/_temp/setup-qemu-AbC123')).toMatch(/has a space, a colon or a backslash/)
    expect(unfitForEntries('/c:/temp/setup-qemu-AbC123')).toMatch(/colon/)
    expect(unfitForEntries(`/${'x'.repeat(100)}`)).toMatch(/too long to name emulators in entries \(at most 87 characters\)/)
  })

  it('sends auto through the helper where it does not fit, and stops a forced runner', () => {
    const facts = { ...hosted, root: true, scratch: '(/opt/my runner/_temp) has a space' }
    expect(choose('auto', facts)).toMatchObject({
      kind: 'container',
      why: "this run's scratch directory (/opt/my runner/_temp) has a space"
    })
    expect(() => choose('runner', facts)).toThrow(/point RUNNER_TEMP at a shorter path without them/)
  })
})
