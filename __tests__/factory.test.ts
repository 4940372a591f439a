import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { Registration, createRegistrar, forPost } from '../src/factory.js'
import type { HostState } from '../src/host/inspect.js'
import { NotMountedError } from '../src/host/mount.js'
import { EngineTable, RunnerTable } from '../src/host/table.js'
import { choose, type RunnerFacts } from '../src/register/choose.js'
import { DirectRegistrar } from '../src/register/direct.js'
import { HelperView } from '../src/helper/view.js'
import { HelperRegistrar } from '../src/register/helper.js'
import type { Registrar } from '../src/register/registrar.js'
import { printedNow } from './helpers/output.js'

const hosted: RunnerFacts = { root: false, sudo: true, ownUserNamespace: false, dockerCli: true }
const options = { timeout: 60, helperImage: 'busybox@sha256:' + 'a'.repeat(64), privilege: 'auto' as const }
const host = (over: Partial<HostState> = {}): HostState => ({ bootId: 'b00t', table: new RunnerTable(), ...over }) as HostState

/** What the step printed while `work` ran. */
const printed = printedNow

afterEach(() => {
  jest.restoreAllMocks()
})

describe('one table of registrars, for main and post', () => {
  it('makes each kind from its line', () => {
    expect(createRegistrar('runner', options)).toBeInstanceOf(DirectRegistrar)
    expect(createRegistrar('container', options)).toBeInstanceOf(HelperRegistrar)
    expect((createRegistrar('runner', { ...options, sudo: true }) as DirectRegistrar).sudo).toBe(true)
    expect((createRegistrar('runner', options) as DirectRegistrar).sudo).toBe(false)
  })

  it('post writes the way main did, chosen from the saved state', () => {
    const saved = { ...options, timeout: 60, mode: 'least' as const }
    const runner = forPost({ ...saved, registrar: 'runner', sudo: true })
    expect(runner).toBeInstanceOf(DirectRegistrar)
    expect(runner.method).toBe('the runner itself, with sudo -n tee')
    const helper = forPost({ ...saved, registrar: 'container', endpoint: { host: 'tcp://127.0.0.1:2376' } })
    expect(helper).toBeInstanceOf(HelperRegistrar)
    expect(helper.method).toBe('helper container (--cap-add SYS_ADMIN)')
  })

  it('refuses a registrar this version has no line for, naming it', () => {
    const saved = { ...options, timeout: 60, mode: 'least' as const }
    expect(() => forPost({ ...saved, registrar: 'nsenter' })).toThrow(/names a registrar this version does not have: nsenter/)
    // a name Object's prototype has is no line either
    expect(() => forPost({ ...saved, registrar: 'constructor' })).toThrow(/does not have: constructor/)
  })
})

describe("main's registration", () => {
  it('registers from the runner where it can, with no helper to read the table through when no CLI is there', () => {
    const r = new Registration(choose('auto', hosted), options, false)
    expect(r.view).toBeUndefined()
    let registrar
    expect(printed(() => (registrar = r.settle(host())))).toContain('registering from the runner itself: passwordless sudo')
    expect(registrar).toBeInstanceOf(DirectRegistrar)
  })

  it('goes through the helper the host stage read the table with, where the runner cannot see binfmt_misc (a container job)', () => {
    const r = new Registration(choose('auto', { ...hosted, root: true }), options, true)
    const view = r.view
    expect(view).toBeInstanceOf(HelperView)
    const why = 'this runner does not see binfmt_misc and cannot mount it (mount: permission denied)'
    let registrar: Registrar | undefined
    const said = printed(() => (registrar = r.settle(host({ table: new EngineTable(view!, why, true) }))))
    expect(said).toContain(`registering through a helper container: ${why}`)
    expect(registrar).toBeInstanceOf(HelperRegistrar)
    expect(registrar?.view).toBe(view)
    expect(r.kind).toBe('container')
  })

  it('never reads the table through a helper when the runner was forced, and says what to do when it cannot mount', () => {
    const r = new Registration(choose('runner', hosted), options, true)
    expect(r.view).toBeUndefined()
    const err = r.notMounted(new NotMountedError('not mounted', 'sudo: mount: permission denied'))
    expect((err as Error).message).toMatch(
      /^register-from: runner cannot work here: .*This runner does not see binfmt_misc and cannot mount it \(sudo: mount: permission denied\); mount it before this step/
    )
    const other = new Error('something else')
    expect(r.notMounted(other)).toBe(other)
    const auto = new Registration(choose('auto', hosted), options, false)
    const notMounted = new NotMountedError('not mounted', 'x')
    expect(auto.notMounted(notMounted)).toBe(notMounted)
  })

  it('warns about a helper image that is not pinned only when a helper is used', () => {
    const unpinned = { ...options, helperImage: 'busybox:latest' }
    expect(printed(() => new Registration(choose('auto', hosted), unpinned, true).settle(host()))).not.toContain('not pinned')
    expect(printed(() => new Registration(choose('container', hosted), unpinned, true).settle(host()))).toContain(
      '::warning::helper-image busybox:latest is not pinned by digest'
    )
  })
})
