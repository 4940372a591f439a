/**
 * Registration against the real kernel interface, in a private binfmt_misc instance of a user namespace
 * (kernel >= 6.7), so nothing outside it changes. Run by `npm run test:userns`, which starts jest under
 * `unshare --user --map-root-user --mount`. Debian's QEMU binaries are registered with the project's own
 * code, and real Debian busybox-static binaries and the project's probes run through them.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { privateInstance } from './instance.js'
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { keepOnlyEmulators } from '../../src/acquire/emulators.js'
import { registrationLine } from '../../src/binfmt/entry.js'
import { entryName } from '../../src/platform/platforms.js'
import { BINFMT_MISC, readEntries } from '../../src/binfmt/table.js'
import { fingerprint } from '../../src/binfmt/table.js'
import { inspectHost, protectedPlatforms, type HostState } from '../../src/host/inspect.js'
import { PLATFORMS, byArch, emulatorName, type Platform } from '../../src/platform/platforms.js'
import { runProbe, runProbes, writeProbes } from '../../src/probe/run.js'
import { DirectRegistrar } from '../../src/register/direct.js'
import { cleanupPlan } from '../../src/post/cleanup.js'
import { plannedCleanup } from '../../src/state.js'
import { changesFor, decide } from '../../src/register/plan.js'
import { NativeFormatError, guardNative } from '../../src/register/registrar.js'
import { verify } from '../../src/verify/verify.js'

const E2E = process.env.E2E ?? '/tmp/setup-qemu-e2e'
// Debian architecture names of the foreign busybox-static binaries, by platform
const FOREIGN: Record<string, string> = { arm64: 'arm64', arm: 'armhf', s390x: 's390x', ppc64le: 'ppc64el', mips64le: 'mips64el' }
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-qemu-userns-'))
const emulators = path.join(work, 'emulators')
const registrar = new DirectRegistrar()

const interpreter = (p: Platform): string => path.join(emulators, emulatorName(p))

async function clear(): Promise<void> {
  const names = [...(await readEntries()).keys()]
  await registrar.apply(
    names.map(name => ({ op: 'remove', name })),
    []
  )
}

let native: Platform[] = []
let probes = new Map<string, string>()

beforeAll(async () => {
  // Debian's emulators, shaped as a source would shape them (-static names renamed)
  fs.mkdirSync(emulators)
  for (const p of PLATFORMS) {
    const file = `/usr/bin/qemu-${p.cpu}-static`
    if (fs.existsSync(file)) fs.copyFileSync(file, path.join(emulators, path.basename(file)))
  }
  await keepOnlyEmulators(emulators, 'all')
  // an instance of our own, over whatever this mount namespace inherited from the host
  privateInstance()
  expect(fs.readdirSync(BINFMT_MISC).sort()).toEqual(['register', 'status'])
  const host = await inspectHost(path.join(work, 'probes'), 'all')
  expect(host.mount.mountedNow).toBe(false)
  native = host.native
  probes = host.probes
})

afterEach(clear)

async function setUp(requested: Platform[], reset = false) {
  // each run of the action has probes of its own (its RUNNER_TEMP and pid)
  const host = await inspectHost(fs.mkdtempSync(path.join(work, 'probes-')), 'all')
  const decisions = decide({
    requested,
    native: host.native,
    undecided: host.undecided,
    entries: host.entries,
    before: host.before,
    reset,
    interpreter
  })
  const changes = changesFor(decisions, host.entries, reset, interpreter)
  const results = await registrar.apply(changes, protectedPlatforms(host))
  return { host, decisions, changes, results, verdicts: await verify(decisions, host.probes, work, results) }
}

function busybox(debArch: string, ...args: string[]): string {
  return execFileSync(path.join(E2E, 'foreign', debArch, 'bin', 'busybox'), args, { encoding: 'utf8' }).trim()
}

describe('in a private binfmt_misc instance', () => {
  it('finds the host platform native and never plans to register it', () => {
    expect(native.map(p => p.arch)).toContain(os.arch() === 'x64' ? 'amd64' : os.arch())
    const d = decide({ requested: native, native, entries: new Map(), before: new Map(), reset: false, interpreter })
    expect(d.every(x => x.action === 'native')).toBe(true)
  })

  it('registers Debian QEMU and runs real Debian busybox binaries and every probe through it', async () => {
    const requested = PLATFORMS.filter(p => !native.includes(p))
    const { results, verdicts } = await setUp(requested)
    expect(results.filter(r => r.status !== 'ok')).toEqual([])
    expect(verdicts.filter(v => !v.ok)).toEqual([])
    for (const [arch, deb] of Object.entries(FOREIGN)) {
      const machine = busybox(deb, 'uname', '-m')
      expect({ arch, machine }).toEqual({
        arch,
        machine: { arm64: 'aarch64', arm: 'armv7l', s390x: 's390x', ppc64le: 'ppc64le', mips64le: 'mips64' }[arch]
      })
      expect(busybox(deb, 'sh', '-c', 'echo $((6 * 7))')).toBe('42')
    }
    // the entries are F entries: the kernel holds the emulator open, so a probe runs with the file gone
    const moved = `${emulators}.moved`
    fs.renameSync(emulators, moved)
    try {
      expect(await runProbe(probes.get('s390x') ?? '')).toEqual({ ok: true })
    } finally {
      fs.renameSync(moved, emulators)
    }
  })

  it('refuses to register a native format, whatever it is called, and writes nothing', async () => {
    const host = byArch(os.arch() === 'x64' ? 'amd64' : 'arm64')
    await expect(
      registrar.apply(
        [
          {
            op: 'add',
            name: 'qemu-arm',
            line: registrationLine(host, interpreter(byArch('arm'))).replace(`qemu-${host.cpu}:`, 'qemu-arm:')
          }
        ],
        native
      )
    ).rejects.toThrow(NativeFormatError)
    expect([...(await readEntries()).keys()]).toEqual([])
    // and the plan for platforms: all on this host leaves the native ones out
    const { changes } = await setUp(PLATFORMS.slice())
    expect(changes.map(c => c.name)).not.toContain(`qemu-${host.cpu}`)
    expect(await runProbe(probes.get(host.arch) ?? '')).toEqual({ ok: true })
  })

  it('replaces a stale Debian-style entry without F that points nowhere, and says why', async () => {
    const arm64 = byArch('arm64')
    // as Debian registers it, with a path that exists on no container (nor here)
    await registrar.apply(
      [{ op: 'add', name: 'qemu-aarch64', line: registrationLine(arm64, '/nonexistent/qemu-binfmt/aarch64-binfmt-P', 'POC') }],
      native
    )
    expect((await runProbe(probes.get('arm64') ?? '')).error).toBe('interpreter missing')
    const { decisions, verdicts } = await setUp([arm64])
    expect(decisions[0]).toMatchObject({ action: 'replace' })
    expect(decisions[0].reason).toMatch(/no F flag/)
    expect(verdicts[0]).toMatchObject({ ok: true })
    expect(busybox('arm64', 'true')).toBe('')
  })

  it('reports a failing platform with its reason while the others work', async () => {
    const s390x = byArch('s390x')
    // a disabled entry that we are not allowed to replace (the source lacks s390x)
    await registrar.apply([{ op: 'add', name: 'qemu-s390x', line: registrationLine(s390x, interpreter(s390x)) }], native)
    fs.writeFileSync(path.join(BINFMT_MISC, 'qemu-s390x'), '0')
    const host = await inspectHost(path.join(work, 'probes'), 'all')
    const decisions = decide({
      requested: [byArch('arm64'), s390x],
      native,
      entries: host.entries,
      before: host.before,
      has: new Set(['arm64']),
      reset: false,
      interpreter
    })
    await registrar.apply(changesFor(decisions, host.entries, false, interpreter), native)
    const verdicts = await verify(decisions, host.probes, work)
    expect(verdicts.map(v => [v.platform.arch, v.ok, v.reason])).toEqual([
      ['arm64', true, undefined],
      ['s390x', false, 'the source has no qemu-s390x']
    ])
  })

  it('is idempotent: a second run changes nothing and verifies the same', async () => {
    const requested = [byArch('arm64'), byArch('arm'), byArch('s390x')]
    const first = await setUp(requested)
    const shown = (): string[][] =>
      fs
        .readdirSync(BINFMT_MISC)
        .filter(n => n !== 'register')
        .map(n => [n, fs.readFileSync(path.join(BINFMT_MISC, n), 'utf8')])
    const before = shown()
    const second = await setUp(requested)
    expect(second.changes).toEqual([])
    expect(second.decisions.map(d => d.reason)).toEqual([
      'already registered by this action',
      'already registered by this action',
      'already registered by this action'
    ])
    expect(second.verdicts.map(v => v.ok)).toEqual(first.verdicts.map(v => v.ok))
    expect(shown()).toEqual(before)
  })

  it('two runs at once with overlapping platforms both succeed', async () => {
    const [a, b] = await Promise.all([setUp([byArch('arm64'), byArch('s390x')]), setUp([byArch('s390x'), byArch('ppc64le')])])
    for (const run of [a, b]) {
      expect(run.results.every(r => r.status === 'ok' || r.status === 'exists')).toBe(true)
      expect(run.verdicts.every(v => v.ok)).toBe(true)
    }
    expect(busybox('ppc64el', 'true')).toBe('')
  })

  it('puts back what it replaced, byte for byte as the kernel shows it, and touches nothing else', async () => {
    const arm64 = byArch('arm64')
    await registrar.apply(
      [
        { op: 'add', name: 'qemu-aarch64', line: registrationLine(arm64, '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', 'P') },
        {
          op: 'add',
          name: 'qemu-s390x',
          line: registrationLine(byArch('s390x'), '/usr/libexec/qemu-binfmt/s390x-binfmt-P', ''),
          disabled: true
        },
        { op: 'add', name: 'qemu-jar', line: ':qemu-jar:E::jar::/usr/bin/jexec:' },
        { op: 'add', name: 'jar', line: ':jar:E::jar2::/usr/bin/jexec:' }
      ],
      native
    )
    const shown = (): string[][] =>
      fs
        .readdirSync(BINFMT_MISC)
        .filter(n => n !== 'register')
        .sort()
        .map(n => [n, fs.readFileSync(path.join(BINFMT_MISC, n), 'utf8')])
    const original = shown()
    expect(original.find(([n]) => n === 'qemu-s390x')?.[1]).toMatch(/^disabled/)
    const { changes, host } = await setUp([arm64, byArch('riscv64')], true)
    expect(shown()).not.toEqual(original)
    const state = {
      ...plannedCleanup(changes, host.entries),
      interpreterDir: emulators,
      native: [],
      registrar: 'runner' as const,
      helperImage: '',
      privilege: 'auto' as const,
      timeout: 1
    }
    expect(state.added.sort()).toEqual(['qemu-aarch64', 'qemu-riscv64'])
    expect(state.removed.map(e => e.name).sort()).toEqual(['qemu-aarch64', 'qemu-jar', 'qemu-s390x'])
    await registrar.apply(cleanupPlan(state, await readEntries()).changes, native)
    expect(shown()).toEqual(original)
  })

  it('tells "no handler" from "interpreter missing" and a wrong exit code', async () => {
    const riscv = byArch('riscv64')
    const none = await verify([{ platform: riscv, action: 'add', reason: '' }], probes, work)
    expect(none[0]).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^no handler: nothing registered claims its binaries; /)
    })
    await registrar.apply(
      [{ op: 'add', name: 'qemu-riscv64', line: registrationLine(riscv, '/nonexistent/qemu-riscv64', 'P') }],
      native
    )
    const missing = await verify([{ platform: riscv, action: 'add', reason: '' }], probes, work)
    expect(missing[0].reason).toMatch(
      /^handler without F: qemu-riscv64 points at \/nonexistent\/qemu-riscv64, which does not exist here; remove that entry/
    )
    await registrar.apply([{ op: 'remove', name: 'qemu-riscv64' }], native)
    // an F entry whose "emulator" is a program that exits 3
    const fake = path.join(work, 'exit3')
    fs.writeFileSync(fake, '#!/bin/sh\nexit 3\n', { mode: 0o755 })
    await registrar.apply([{ op: 'add', name: 'qemu-riscv64', line: registrationLine(riscv, fake, 'F') }], native)
    expect(await runProbe(probes.get('riscv64') ?? '')).toMatchObject({
      ok: false,
      error: 'wrong exit code',
      detail: 'exit code 3, expected 42'
    })
    const wrong = await verify([{ platform: riscv, action: 'add', reason: '' }], probes, work)
    expect(wrong[0].reason).toContain(
      `the emulator ${fake} ran and exited with its own error (exit code 3, expected 42); this QEMU`
    )
    const spawned = spawnSync(probes.get('riscv64') ?? '')
    expect(spawned.status).toBe(3)
    // one that exits 127 itself is not taken for a missing interpreter, as the shell's status alone would
    await registrar.apply([{ op: 'remove', name: 'qemu-riscv64' }], native)
    const exit127 = path.join(work, 'exit127')
    fs.writeFileSync(exit127, '#!/bin/sh\nexit 127\n', { mode: 0o755 })
    await registrar.apply([{ op: 'add', name: 'qemu-riscv64', line: registrationLine(riscv, exit127, 'F') }], native)
    const own127 = await verify([{ platform: riscv, action: 'add', reason: '' }], probes, work)
    expect(own127[0].reason).toContain(`the emulator ${exit127} ran and exited with its own error (exit code 127, expected 42); `)
  })
})

describe('nativeness is known, not guessed', () => {
  const family = byArch(os.arch() === 'x64' ? '386' : 'arm')
  const own = byArch(os.arch() === 'x64' ? 'amd64' : 'arm64')
  /** What the CPU does with the family member's probe, with no entry in this fresh instance to claim it. */
  const cpuRuns = async (): Promise<boolean> => {
    expect([...(await readEntries()).keys()]).toEqual([])
    return (await runProbe(probes.get(family.arch) ?? '')).ok
  }

  it(`an entry already claiming ${family.platforms[0]} does not make it foreign`, async () => {
    const runs = await cpuRuns()
    // as a distribution or an earlier tool leaves it: no F, and here its emulator exists
    const emulator = path.join(emulators, emulatorName(family))
    await registrar.apply([{ op: 'add', name: entryName(family), line: registrationLine(family, emulator, 'P') }], [own])
    for (const reset of [false, true]) {
      const { host, changes, decisions } = await setUp([family], reset)
      expect(host.native.includes(family)).toBe(runs)
      expect(host.undecided.has(family.arch)).toBe(false)
      if (runs) {
        expect(decisions[0].action).toBe('native')
        expect(changes.filter(c => c.op === 'add')).toEqual([])
        expect(() =>
          guardNative([{ op: 'add', name: 'x', line: registrationLine(family, emulator) }], protectedPlatforms(host))
        ).toThrow(NativeFormatError)
      } else {
        expect(changes.map(c => `${c.op} ${c.name}`)).toContain(`add ${entryName(family)}`)
      }
    }
  })

  it('stops before any write when the host cannot run its own probe (a noexec scratch directory)', async () => {
    const noexec = fs.mkdtempSync(path.join(work, 'noexec-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'noexec', 'tmpfs', noexec])
    try {
      await expect(inspectHost(path.join(noexec, 'probes'), 'all')).rejects.toThrow(
        new RegExp(
          `cannot run its own ${own.platforms[0]} probe .*nothing was changed\\. .* is on ${noexec}, which is mounted noexec`
        )
      )
      expect([...(await readEntries()).keys()]).toEqual([])
    } finally {
      execFileSync('umount', [noexec])
    }
  })

  it('an entry with a magic longer than 20 bytes is seen: arm64 is not native because of it', async () => {
    const arm64 = byArch('arm64')
    if (native.includes(arm64)) return // an arm64 host runs it natively anyway
    const esc = (hex: string): string => hex.replace(/(..)/g, '\\x$1')
    const magic = `${registrationLine(arm64, '/x').split(':')[4].replaceAll('\\x', '')}01000000`
    const mask = `ffffffffffffff00fffffffffffffffffeffffffffffffff`
    fs.writeFileSync(path.join(BINFMT_MISC, 'register'), `:aarch64-nof:M::${esc(magic)}:${esc(mask)}:${interpreter(arm64)}:P`)
    const { host, decisions, verdicts } = await setUp([arm64])
    expect(host.native).not.toContain(arm64)
    expect(decisions[0].action).toBe('add')
    expect(verdicts[0]).toMatchObject({ ok: true })
  })

  it('probes that ran against other entries than the ones there now are run again', async () => {
    const arm64 = byArch('arm64')
    if (native.includes(arm64)) return
    const dir = fs.mkdtempSync(path.join(work, 'race-'))
    // probes that saw an arm64 entry which another job's post step has removed since
    const stale = {
      probes: writeProbes(dir, PLATFORMS),
      before: new Map([[arm64.arch, { ok: true }]]),
      seen: fingerprint(new Map()) + 'changed'
    }
    stale.before = new Map([...(await runProbes(new Map([[own.arch, stale.probes.get(own.arch) ?? '']]))), ...stale.before])
    const host: HostState = await inspectHost(dir, [arm64], Promise.resolve(stale))
    expect(host.before.get('arm64')?.ok).toBe(false)
    expect(host.native).not.toContain(arm64)
  })
})
