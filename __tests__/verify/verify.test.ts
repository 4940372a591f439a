import { describe, expect, it } from '@jest/globals'
import { parseEntry, registrationLine, type Entry } from '../../src/binfmt/entry.js'
import type { EngineView } from '../../src/host/engine-view.js'
import { EngineTable, RunnerTable } from '../../src/host/table.js'
import type { ProbeResult } from '../../src/probe/run.js'
import { byArch } from '../../src/platform/platforms.js'
import type { Decision } from '../../src/register/plan.js'
import type { ChangeResult } from '../../src/register/registrar.js'
import { chrootResult, explain, verify, writeErrors } from '../../src/verify/verify.js'

describe('what the writes explain', () => {
  it('a failed write, and an entry the helper said it added that this host does not show', () => {
    const errors = writeErrors(
      [
        {
          change: { op: 'add', name: 'qemu-aarch64', line: '' },
          status: 'failed',
          error: 'sh: write error: No such file or directory'
        },
        { change: { op: 'add', name: 'qemu-s390x', line: '' }, status: 'ok' },
        { change: { op: 'add', name: 'qemu-riscv64', line: '' }, status: 'ok' },
        { change: { op: 'remove', name: 'qemu-ppc64le' }, status: 'ok' }
      ],
      new Map([['qemu-riscv64', parseEntry('qemu-riscv64', 'enabled\n')]])
    )
    expect([...errors]).toEqual([
      ['arm64', 'registration failed: sh: write error: No such file or directory'],
      [
        's390x',
        expect.stringMatching(
          /^the helper registered qemu-s390x, but this host's binfmt_misc does not show it: .*user-namespaced engine/
        )
      ]
    ])
  })
})

describe('why a probe failed', () => {
  const f = parseEntry('qemu-riscv64', 'enabled\ninterpreter /usr/bin/qemu-riscv64\nflags: F\n')
  const p = parseEntry('qemu-riscv64', 'enabled\ninterpreter /usr/libexec/riscv64-binfmt-P\nflags: P\n')
  it.each([
    [
      'no handler at all',
      { ok: false, error: 'exec failed' },
      undefined,
      undefined,
      'no handler: nothing registered claims its binaries; if this step registered it, something removed it since (another job?): run the step again'
    ],
    [
      'a disabled entry',
      { ok: false, error: 'exec failed' },
      undefined,
      { ...p, enabled: false },
      'no handler: the entry qemu-riscv64 is disabled; run the step again, which replaces a disabled entry'
    ],
    [
      'an F interpreter that cannot be opened',
      { ok: false, error: 'interpreter missing' },
      f,
      f,
      "interpreter missing: /usr/bin/qemu-riscv64 cannot be started (a dynamic emulator whose loader is missing?); use static emulators built for this runner's arch, such as the default image's"
    ],
    [
      'a handler without F',
      { ok: false, error: 'interpreter missing' },
      p,
      p,
      'handler without F: qemu-riscv64 points at /usr/libexec/riscv64-binfmt-P, which does not exist here; remove that entry (reset: true removes qemu-* ones), and this step registers one with F'
    ],
    [
      'an emulator that crashed',
      { ok: false, error: 'crashed', detail: 'killed by signal 11' },
      f,
      f,
      'the emulator crashed (killed by signal 11); this QEMU cannot run its programs: use the default image, or another QEMU build'
    ],
    [
      'an emulator that ran and exited 127 itself',
      { ok: false, error: 'wrong exit code', detail: 'exit code 127, expected 42' },
      f,
      f,
      'the emulator /usr/bin/qemu-riscv64 ran and exited with its own error (exit code 127, expected 42); this QEMU cannot run its programs: use the default image, or another QEMU build'
    ],
    [
      'an emulator for another host',
      { ok: false, error: 'exec failed', detail: 'the kernel refused to run it' },
      f,
      f,
      "the kernel refused to run /usr/bin/qemu-riscv64 (the kernel refused to run it): an emulator built for another host, or on a noexec mount; use static emulators built for this runner's arch, such as the default image's"
    ]
  ] as const)('%s', (_, result, handler, own, why) => expect(explain(result, handler, own)).toBe(why))
})

describe('a probe chrooted into an empty directory', () => {
  it.each([
    ['chroot could not chroot', 125, undefined],
    ['the emulator exited 1 in the empty root', 1, { ok: false, error: 'wrong exit code', detail: 'exit code 1, expected 42' }],
    ['the emulator could not be found there (no F)', 127, { ok: false, error: 'interpreter missing' }],
    ['it did not end in time', undefined, { ok: false, error: 'timed out' }],
    ['it ran', 42, { ok: true }]
  ])('%s', (_, status, expected) => {
    const r = chrootResult(status)
    if (expected === undefined) expect(r).toBeUndefined()
    else expect(r).toMatchObject(expected)
  })
})

describe('verifying through the engine', () => {
  const arm64 = byArch('arm64')
  const [, , , , magic, mask] = registrationLine(arm64, '/run/setup-qemu/k/qemu-aarch64').split(':')
  const hexOf = (s: string): string => s.replaceAll('\\x', '')
  const entry = parseEntry(
    'qemu-aarch64',
    `enabled\ninterpreter /run/setup-qemu/k/qemu-aarch64\nflags: POCF\noffset 0\nmagic ${hexOf(magic)}\nmask ${hexOf(mask)}\n`
  )
  const decisions: Decision[] = [{ platform: arm64, action: 'add', reason: 'not registered yet' }]
  const added: ChangeResult[] = [{ change: { op: 'add', name: 'qemu-aarch64', line: '' }, status: 'ok' }]
  const viewOf = (entries: Map<string, Entry>, ok: boolean): EngineView => ({
    look: async () => ({
      entries,
      changed: false,
      enabled: true,
      bootId: 'b',
      machine: 'x86_64',
      results: new Map([['arm64', ok ? { ok: true } : { ok: false, error: 'wrong exit code', detail: 'exit code 2' }]])
    })
  })

  it('a probe that passes in a fresh container proves the F entry', async () => {
    const engine = new EngineTable(viewOf(new Map([['qemu-aarch64', entry]]), true), 'test', false)
    const [v] = await verify(decisions, new Map([['arm64', '/nonexistent']]), '/tmp', added, undefined, engine)
    expect(v).toMatchObject({ ok: true, native: false, how: 'probe in a container without the emulator (F proven)' })
  })

  it('an entry gone once the helper exited says to mount binfmt_misc on the engine host', async () => {
    const engine = new EngineTable(viewOf(new Map(), false), 'test', false)
    const [v] = await verify(decisions, new Map([['arm64', '/nonexistent']]), '/tmp', added, undefined, engine)
    expect(v.ok).toBe(false)
    expect(v.reason).toMatch(
      /no longer showed it: binfmt_misc is not mounted on the engine's host.*Run `sudo mount -t binfmt_misc/
    )
  })
})

describe("verifying on the runner's own table", () => {
  const arm64 = byArch('arm64')
  const s390x = byArch('s390x')
  // an interpreter the host can see: the chrooted probe is what can show F
  const entryOf = (name: string, flags: string): Entry =>
    parseEntry(name, `enabled\ninterpreter ${process.execPath}\nflags: ${flags}\noffset 0\nmagic 00\nmask ff\n`)
  const decisions: Decision[] = [arm64, s390x].map(platform => ({ platform, action: 'add', reason: 'not registered yet' }))
  const probes = new Map([
    ['arm64', '/p/probe-arm64'],
    ['s390x', '/p/probe-s390x']
  ])

  /** The runner's table, with the entries and the probes' answers given, recording what was run where. */
  class Table extends RunnerTable {
    readonly onHost: string[][] = []
    readonly chrootedRuns: string[][] = []
    constructor(
      private readonly entries: Map<string, Entry>,
      private readonly host: Record<string, ProbeResult>,
      private readonly inChroot: Record<string, ProbeResult> | undefined
    ) {
      super()
    }
    override async read(): Promise<Map<string, Entry>> {
      return this.entries
    }
    override async probe(
      paths: ReadonlyMap<string, string>
    ): Promise<{ entries: Map<string, Entry>; results: Map<string, ProbeResult> }> {
      this.onHost.push([...paths.keys()])
      return { entries: this.entries, results: new Map([...paths.keys()].map(a => [a, this.host[a]])) }
    }
    override async chrooted(paths: ReadonlyMap<string, string>): Promise<Map<string, ProbeResult> | undefined> {
      this.chrootedRuns.push([...paths.keys()])
      return this.inChroot && new Map([...paths.keys()].map(a => [a, this.inChroot![a]]))
    }
  }
  const fEntries = new Map([
    ['qemu-aarch64', entryOf('qemu-aarch64', 'POCF')],
    ['qemu-s390x', entryOf('qemu-s390x', 'POCF')]
  ])
  const ok: ProbeResult = { ok: true }
  const exit127: ProbeResult = { ok: false, error: 'interpreter missing' }

  it('an F entry whose probe passes chrooted into an empty directory needs no host probe', async () => {
    const table = new Table(fEntries, {}, { arm64: ok, s390x: ok })
    const verdicts = await verify(decisions, probes, '/tmp', [], undefined, table)
    expect(table.chrootedRuns).toEqual([['arm64', 's390x']])
    expect(table.onHost).toEqual([[]])
    expect(verdicts.map(v => [v.platform.arch, v.ok, v.how])).toEqual([
      ['arm64', true, 'probe chrooted into an empty directory: F proven, and the host runs the same entry'],
      ['s390x', true, 'probe chrooted into an empty directory: F proven, and the host runs the same entry']
    ])
  })

  it('one that fails there is probed on the host too, and the verdict says which failed', async () => {
    const table = new Table(fEntries, { s390x: ok }, { arm64: ok, s390x: exit127 })
    const verdicts = await verify(decisions, probes, '/tmp', [], undefined, table)
    expect(table.onHost).toEqual([['s390x']])
    expect(verdicts[0]).toMatchObject({ ok: true })
    expect(verdicts[1]).toMatchObject({ ok: false, how: 'probe chrooted into an empty directory' })
    expect(verdicts[1].reason).toMatch(/could not be started in an empty root, as containers start it/)
  })

  it('where no chroot can be done, the host probes decide and the F flag is all that is said of containers', async () => {
    const table = new Table(fEntries, { arm64: ok, s390x: ok }, undefined)
    const verdicts = await verify(decisions, probes, '/tmp', [], undefined, table)
    expect(table.chrootedRuns).toEqual([['arm64', 's390x']])
    expect(table.onHost).toEqual([['arm64', 's390x']])
    expect(verdicts.map(v => v.how)).toEqual([
      'host probe; F flag set (no chroot here to run it in an empty root)',
      'host probe; F flag set (no chroot here to run it in an empty root)'
    ])
  })

  it('an entry without F is probed on the host only, and fails for containers', async () => {
    const entries = new Map([
      ['qemu-aarch64', entryOf('qemu-aarch64', 'OC')],
      ['qemu-s390x', entryOf('qemu-s390x', 'POCF')]
    ])
    const table = new Table(entries, { arm64: ok }, { s390x: ok })
    const verdicts = await verify(decisions, probes, '/tmp', [], undefined, table)
    expect(table.chrootedRuns).toEqual([['s390x']])
    expect(table.onHost).toEqual([['arm64']])
    expect(verdicts[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/^handler without F/) })
    expect(verdicts[1]).toMatchObject({ ok: true })
  })

  it('an F entry whose emulator is out of sight is proven by the host probe alone', async () => {
    const hidden = new Map([
      ['qemu-aarch64', parseEntry('qemu-aarch64', 'enabled\ninterpreter /nonexistent/qemu-aarch64\nflags: POCF\n')]
    ])
    const table = new Table(hidden, { arm64: ok }, { arm64: ok })
    const [v] = await verify([decisions[0]], probes, '/tmp', [], undefined, table)
    expect(table.chrootedRuns).toEqual([])
    expect(table.onHost).toEqual([['arm64']])
    expect(v).toMatchObject({ ok: true, how: 'host probe, emulator path not on host (F proven)' })
  })

  it('one that fails both chrooted and on the host is explained by the host probe', async () => {
    const crashed: ProbeResult = { ok: false, error: 'crashed', detail: 'killed by signal 11' }
    const table = new Table(fEntries, { arm64: crashed }, { arm64: crashed })
    const [v] = await verify([decisions[0]], probes, '/tmp', [], undefined, table)
    expect(v).toMatchObject({ ok: false, how: 'probe on the host', reason: expect.stringMatching(/^the emulator crashed/) })
  })

  it('a platform the chroot proved keeps the entry it was proven with, whatever a later read of the table shows', async () => {
    const table = new Table(fEntries, {}, { arm64: ok, s390x: ok })
    table.probe = async paths => {
      table.onHost.push([...paths.keys()])
      return { entries: new Map(), results: new Map() }
    }
    const verdicts = await verify(decisions, probes, '/tmp', [], undefined, table)
    expect(verdicts.map(v => [v.native, v.ok, v.how])).toEqual([
      [false, true, 'probe chrooted into an empty directory: F proven, and the host runs the same entry'],
      [false, true, 'probe chrooted into an empty directory: F proven, and the host runs the same entry']
    ])
  })

  it('what the host stage saw stands when nothing was written: the chroot comes after its host probes', async () => {
    const table = new Table(fEntries, {}, { arm64: ok, s390x: ok })
    const results = new Map([
      ['arm64', ok],
      ['s390x', ok]
    ])
    const verdicts = await verify(decisions, probes, '/tmp', [], { results, entries: fEntries }, table)
    expect(table.onHost).toEqual([])
    expect(table.chrootedRuns).toEqual([['arm64', 's390x']])
    expect(verdicts.map(v => v.how)).toEqual([
      'host probe + probe chrooted into an empty directory',
      'host probe + probe chrooted into an empty directory'
    ])
  })
})
