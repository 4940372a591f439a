/**
 * Registering from the runner itself against the real kernel interface, in a private binfmt_misc
 * instance: the same plan, the state saved before the first write, the writes through `sudo -n tee`
 * (sudo itself cannot run in a user namespace: a stand-in records its arguments and runs what follows
 * `-n`), verification on the host and in a chroot, and the post step putting the table back exactly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { privateInstance, clearInstance } from './instance.js'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { keepOnlyEmulators } from '../../src/acquire/emulators.js'
import { registrationLine } from '../../src/binfmt/entry.js'
import { BINFMT_MISC, bootId, readEntries } from '../../src/binfmt/table.js'
import { DEFAULT_HELPER_IMAGE } from '../../src/constants.js'
import { inspectHost } from '../../src/host/inspect.js'
import type { Inputs } from '../../src/inputs/inputs.js'
import { byArch, emulatorName, type Platform } from '../../src/platform/platforms.js'
import { cleanup } from '../../src/post/cleanup.js'
import { register } from '../../src/register/apply.js'
import { DirectRegistrar, SudoWrites } from '../../src/register/direct.js'
import { decide } from '../../src/register/plan.js'
import { checkCleanup } from '../../src/state.js'
import { verify } from '../../src/verify/verify.js'
import { chrootedProbes } from '../../src/probe/chroot.js'
import { writeProbes } from '../../src/probe/run.js'
import { printedBy } from '../helpers/output.js'

const E2E = process.env.E2E ?? '/tmp/setup-qemu-e2e'
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-direct-'))
const emulators = path.join(work, 'emulators')
const stateFile = path.join(work, 'state')
const calls = path.join(work, 'sudo-calls')
const interpreter = (p: Platform): string => path.join(emulators, emulatorName(p))
const [arm64, s390x] = [byArch('arm64'), byArch('s390x')]

/** sudo as a runner with passwordless sudo has it: it records its arguments, then runs the command after `-n`. */
const sudo = path.join(work, 'sudo')

/** Every entry with its text, as `cat` shows it. */
const shown = (): string[][] =>
  fs
    .readdirSync(BINFMT_MISC)
    .filter(n => n !== 'register')
    .sort()
    .map(n => [n, fs.readFileSync(path.join(BINFMT_MISC, n), 'utf8')])

/** What the step printed while `work` ran. */
const printed = printedBy

beforeAll(async () => {
  fs.mkdirSync(emulators)
  for (const p of [arm64, s390x]) fs.copyFileSync(`/usr/bin/qemu-${p.cpu}-static`, path.join(emulators, `qemu-${p.cpu}-static`))
  await keepOnlyEmulators(emulators, 'all')
  fs.writeFileSync(sudo, `#!/bin/sh\nprintf '%s\\n' "$*" >>"${calls}"\n[ "$1" = -n ] && shift\nexec "$@"\n`, { mode: 0o755 })
  privateInstance()
  fs.writeFileSync(stateFile, '')
  process.env.GITHUB_STATE = stateFile
})
afterEach(() => {
  clearInstance()
  fs.rmSync(calls, { force: true })
})
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

/** Main's stages from the host to the verdicts, registering from the runner through sudo. */
async function main(requested: Platform[], cleanupOn = true) {
  fs.writeFileSync(stateFile, '')
  const host = await inspectHost(fs.mkdtempSync(path.join(work, 'probes-')), requested)
  const registrar = new DirectRegistrar(BINFMT_MISC, new SudoWrites(async () => sudo))
  registrar.expectKernel(host.bootId)
  const decisions = decide({
    requested,
    native: host.native,
    undecided: host.undecided,
    entries: host.entries,
    before: host.before,
    reset: false,
    interpreter
  })
  const inputs = {
    cleanup: cleanupOn,
    reset: false,
    helperImage: DEFAULT_HELPER_IMAGE,
    privileged: 'auto',
    timeout: 60
  } as Inputs
  const emulatorsHanded = { dir: emulators, archs: new Set(['arm64', 's390x']), key: 'k', origin: 'download', from: 'test' }
  const writes = await register({ decisions, interpreter, emulators: emulatorsHanded } as never, host, inputs, registrar)
  const verdicts = await verify(decisions, host.probes, work, writes)
  return { host, writes, verdicts }
}

/** The state main saved, as post is handed it. */
/** The post step with this saved cleanup state and `cleanup: true`, as the runner hands them over; what it printed. */
async function postWith(state: string): Promise<string> {
  return printed(async () => {
    process.env.STATE_cleanup = state
    process.env.INPUT_CLEANUP = 'true'
    try {
      await cleanup()
    } finally {
      delete process.env.STATE_cleanup
      delete process.env.INPUT_CLEANUP
    }
  })
}

function saved(): string {
  const m = /cleanup<<(\S+)\n([\s\S]*?)\n\1/.exec(fs.readFileSync(stateFile, 'utf8'))
  if (!m) throw new Error('no cleanup state was saved')
  return m[2]
}

describe('registering from the runner itself, through sudo', () => {
  it('writes the plan with `sudo -n tee`, proves F in an empty root, and saves how for post', async () => {
    const { writes, verdicts } = await main([arm64, s390x])
    expect(writes.map(w => `${w.change.op} ${w.change.name} ${w.status}`)).toEqual(['add qemu-aarch64 ok', 'add qemu-s390x ok'])
    expect(fs.readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      `-n tee ${BINFMT_MISC}/register`,
      `-n tee ${BINFMT_MISC}/register`
    ])
    expect(verdicts.map(v => [v.platform.arch, v.ok, v.how])).toEqual([
      ['arm64', true, 'probe chrooted into an empty directory: F proven, and the host runs the same entry'],
      ['s390x', true, 'probe chrooted into an empty directory: F proven, and the host runs the same entry']
    ])
    const state = checkCleanup(JSON.parse(saved()))
    expect(state).toMatchObject({ registrar: 'runner', sudo: true, bootId: await bootId(), interpreterDir: emulators })
    expect(state.endpoint).toBeUndefined()
    // Debian's busybox for arm64 runs on the host, and chrooted where nothing else is
    const bb = path.join(E2E, 'foreign', 'arm64', 'bin', 'busybox')
    expect(execFileSync(bb, ['uname', '-m'], { encoding: 'utf8' }).trim()).toBe('aarch64')
    const root = fs.mkdtempSync(path.join(work, 'chroot-'))
    fs.copyFileSync(bb, path.join(root, 'busybox'))
    fs.chmodSync(path.join(root, 'busybox'), 0o755)
    expect(execFileSync('chroot', [root, '/busybox', 'uname', '-m'], { encoding: 'utf8' }).trim()).toBe('aarch64')
  })

  it('post puts the table back exactly as it was, through the same registrar chosen from the state', async () => {
    // a Debian-style entry without F that the run replaces, one with other flags, and another tool's
    fs.writeFileSync(
      path.join(BINFMT_MISC, 'register'),
      registrationLine(arm64, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', 'P')
    )
    fs.writeFileSync(path.join(BINFMT_MISC, 'register'), ':jar:E::jar::/usr/bin/jexec:')
    const before = shown()
    const { writes } = await main([arm64, s390x])
    expect(writes.map(w => `${w.change.op} ${w.change.name} ${w.status}`)).toEqual([
      'remove qemu-aarch64 ok',
      'add qemu-aarch64 ok',
      'add qemu-s390x ok'
    ])
    expect(shown()).not.toEqual(before)
    // post as the runner's post step runs it, as root here: the state says the runner wrote, without sudo
    const state = JSON.stringify({ ...JSON.parse(saved()), sudo: undefined })
    const out = await postWith(state)
    expect(out).not.toContain('::warning::')
    expect(out).toContain('remove qemu-s390x: ok')
    expect(out).toContain('restore qemu-aarch64: ok')
    expect(shown()).toEqual(before)
  })

  it('post refuses a table of another boot, and changes nothing', async () => {
    await main([arm64])
    const after = shown()
    const state = JSON.stringify({ ...JSON.parse(saved()), sudo: undefined, bootId: '00000000-0000-0000-0000-000000000000' })
    const out = await postWith(state)
    expect(out).toContain('::warning::cleanup did not finish: binfmt_misc was not changed: it belongs to another kernel')
    expect(shown()).toEqual(after)
  })

  it('an entry removed meanwhile is gone, not a failure', async () => {
    const r = new DirectRegistrar(BINFMT_MISC, new SudoWrites(async () => sudo))
    const results = await r.apply([{ op: 'remove', name: 'qemu-aarch64' }], [])
    expect(results.map(x => x.status)).toEqual(['gone'])
    expect([...(await readEntries()).keys()]).toEqual([])
  })
})

describe('probes chrooted into an empty directory', () => {
  it('run at once, each with its own answer: an F entry runs there, one without F cannot find its emulator', async () => {
    fs.writeFileSync(path.join(BINFMT_MISC, 'register'), registrationLine(arm64, interpreter(arm64)))
    fs.writeFileSync(path.join(BINFMT_MISC, 'register'), registrationLine(s390x, interpreter(s390x), ''))
    const probes = writeProbes(path.join(work, 'probes'), [arm64, s390x])
    const scratch = fs.mkdtempSync(path.join(work, 'scratch-'))
    const results = await chrootedProbes(probes, scratch)
    expect(Object.fromEntries(results ?? [])).toEqual({
      arm64: { ok: true },
      s390x: { ok: false, error: 'interpreter missing', detail: 'the registered interpreter does not exist here' }
    })
    // nothing is left of the directory they ran in
    expect(fs.readdirSync(scratch)).toEqual([])
  })
})
