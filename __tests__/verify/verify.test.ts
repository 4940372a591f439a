import { describe, expect, it } from '@jest/globals'
import { parseEntry, registrationLine, type Entry } from '../../src/binfmt/entry.js'
import type { EngineView } from '../../src/host/engine-view.js'
import { EngineTable } from '../../src/host/table.js'
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
